//! The two-step journey clicked through the pages in headless Chromium,
//! with screenshots of the main pages (see the folder the test script prints).

use crate::common;

use common::browser::Chromium;
use common::web_journey::{localhost, sign_in_with_password, sign_out, two_step_on};
use common::{Server, ServerOptions};

#[test]
fn the_two_step_journey_in_a_real_browser() {
    let server = Server::start_with(ServerOptions {
        localhost: true,
        ..Default::default()
    });
    let web = Chromium::start("two-step-journey");
    let (_phone, codes) = two_step_on(&server, &web, "mallory", "sunlit-orchard-5520");

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
    for page in [
        "/account/two-step",
        "/account/security-log",
        "/signin",
        "/help/recovery",
    ] {
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
    // Key and log tables keep their headings on a phone, one label per value.
    let labelled = web.script(
        "return [...document.querySelectorAll('table.list td[data-label]')].length > 0 || !document.querySelector('table.list');",
        serde_json::json!([]),
    );
    assert_eq!(labelled, serde_json::json!(true));

    // Half signed in on a phone: the header offers to cancel, and a recovery
    // code has a field that takes letters.
    sign_out(&web);
    sign_in_with_password(&server, &web, "mallory", "sunlit-orchard-5520");
    let header = web.find("header.top");
    let header_text = web.script(
        "return document.querySelector('header.top').innerText;",
        serde_json::json!([]),
    );
    assert!(!header.is_empty());
    let header_text = header_text.as_str().unwrap_or_default().to_string();
    assert!(header_text.contains("Cancel sign-in"), "{header_text}");
    assert!(!header_text.contains("Sign up"), "{header_text}");
    web.click("details.recovery-switch summary");
    web.type_into("#recovery-code", &codes[0]);
    web.screenshot("second-step-recovery-code-phone");
    web.click("details.recovery-switch button");
    web.wait_for_text("Hello, mallory");
}
