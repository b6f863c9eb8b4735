//! The two-step journey clicked through the pages in headless Chromium,
//! with screenshots of the main pages (see the folder the test script prints).

use crate::common;

use common::browser::Chromium;
use common::web_journey::{localhost, two_step_on};
use common::{Server, ServerOptions};

#[test]
fn the_two_step_journey_in_a_real_browser() {
    let server = Server::start_with(ServerOptions {
        localhost: true,
        ..Default::default()
    });
    let web = Chromium::start("two-step-journey");
    two_step_on(&server, &web, "mallory", "sunlit-orchard-5520");

    web.goto(&localhost(&server, "/account/two-step"));
    web.wait_for_text("is on since");
    web.screenshot("two-step-on");
    web.goto(&localhost(&server, "/account/security-log"));
    web.wait_for_text("Two-step verification turned on");
    web.screenshot("security-log");
    web.goto(&localhost(&server, "/help/recovery"));
    web.screenshot("help-recovery");

    // Readable on a phone: no sideways scrolling at 390 px.
    web.cmd(
        "POST",
        "/window/rect",
        serde_json::json!({"width": 390, "height": 844}),
    );
    for page in ["/account/two-step", "/account/security-log", "/signin"] {
        web.goto(&localhost(&server, page));
        let fits = web.script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            serde_json::json!([]),
        );
        assert_eq!(
            fits,
            serde_json::json!(true),
            "{page} scrolls sideways on a phone"
        );
    }
    web.goto(&localhost(&server, "/account/two-step"));
    web.screenshot("two-step-on-phone");
}
