//! QR codes as SVG, drawn from the otpauth URI.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

pub fn svg(data: &str) -> String {
    match QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
        // An otpauth URI is far below QR capacity; this only guards odd input.
        Err(_) => String::new(),
    }
}
