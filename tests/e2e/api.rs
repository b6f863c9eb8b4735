//! The JSON API through the real binary, with mail delivered to a real SMTP
//! server (aiosmtpd) instead of the outbox.

use crate::common;

use common::mail::SmtpServer;
use common::{Server, ServerOptions};

#[test]
fn the_two_step_lifecycle_over_the_json_api_with_smtp_mail() {
    let server = Server::start_with(ServerOptions {
        smtp: Some(SmtpServer::start()),
        ..Default::default()
    });
    common::api::two_step_journey(&server, "dave");
    assert!(server.log_text().contains("mail sent over SMTP"));
    assert!(
        !server.data_dir().join("outbox").exists()
            || std::fs::read_dir(server.data_dir().join("outbox"))
                .unwrap()
                .next()
                .is_none()
    );
}
