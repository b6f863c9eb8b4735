//! Deque's axe-core (npm, pinned by tests/e2e/axe/package-lock.json), run in
//! Chromium on each page a test reaches: the serious and critical
//! violations it finds, and whether the page is wider than the screen.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::browser::{Chromium, PHONE_WIDTH};

fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/e2e/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "axe-core is installed at {} (the test script runs npm ci in tests/e2e/axe)",
            path.display()
        )
    })
}

/// What the sweep found, page by page.
pub struct Sweep<'a> {
    web: &'a Chromium,
    phone: bool,
    source: String,
    /// The paths of the pages checked (after any redirect).
    pub seen: BTreeSet<String>,
    pub problems: Vec<String>,
}

const RUN: &str = r#"
const done = arguments[arguments.length - 1];
if (typeof axe !== 'object') { done(['axe did not load']); return; }
axe.run(document, { resultTypes: ['violations'] }).then(r => done(
  r.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.id} (${v.impact}): ${v.help}: ` + v.nodes.slice(0, 3)
      .map(n => `${n.target.join(' ')} (${(n.failureSummary || '').replace(/\s+/g, ' ')})`)
      .join('; '))
)).catch(e => done(['axe did not run: ' + e]));
"#;

impl<'a> Sweep<'a> {
    pub fn new(web: &'a Chromium, phone: bool) -> Sweep<'a> {
        Sweep {
            web,
            phone,
            source: axe_source(),
            seen: BTreeSet::new(),
            problems: Vec::new(),
        }
    }

    /// Opens `url` and checks the page it lands on.
    pub fn visit(&mut self, url: &str) {
        self.web.goto(url);
        self.check();
    }

    /// Checks the page the browser shows now.
    pub fn check(&mut self) {
        let web = self.web;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while web.script("return document.readyState;", json!([])) != json!("complete") {
            assert!(
                std::time::Instant::now() < deadline,
                "{} never loaded",
                web.url()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let path = web
            .script("return location.pathname;", json!([]))
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.seen.insert(path.clone());
        let at = format!("{path} ({})", if self.phone { "phone" } else { "desktop" });

        // Injected with each run, as a script body (WebDriver's scripts are
        // not the page's, so its Content-Security-Policy does not stop them).
        let found = web.script_async(&format!("{}\n{RUN}", self.source), json!([]));
        for v in found.as_array().cloned().unwrap_or_default() {
            self.problems
                .push(format!("{at}: {}", v.as_str().unwrap_or_default()));
        }

        let size = web.script(
            "return [window.innerWidth, document.documentElement.scrollWidth];",
            json!([]),
        );
        let (inner, scroll) = (size[0].as_u64().unwrap_or(0), size[1].as_u64().unwrap_or(0));
        if self.phone && inner != u64::from(PHONE_WIDTH) {
            self.problems.push(format!(
                "{at}: laid out {inner} px wide on a {PHONE_WIDTH} px screen (no viewport meta?)"
            ));
        }
        if scroll > inner {
            let widest = web.script(WIDEST, json!([]));
            self.problems.push(format!(
                "{at}: {scroll} px wide on a {inner} px screen (widest: {widest})"
            ));
        }
    }

    /// Every problem, one per line; empty when the pages are clean.
    pub fn report(&self) -> String {
        self.problems.join("\n")
    }
}

/// The elements that reach furthest right, to name the culprit.
const WIDEST: &str = r#"
return [...document.querySelectorAll('body *')]
  .map(e => [e, e.getBoundingClientRect().right])
  .filter(([e, r]) => r > window.innerWidth)
  .sort((a, b) => b[1] - a[1]).slice(0, 3)
  .map(([e, r]) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '') + ' ' + Math.round(r) + 'px');
"#;

/// The style of the element that has the keyboard focus: outline style,
/// width and colour, and its tag.
pub fn focused_style(web: &Chromium) -> Value {
    web.script(
        "const e = document.activeElement; const s = getComputedStyle(e); \
         return {tag: e.tagName.toLowerCase(), text: (e.innerText || e.value || '').slice(0, 40), \
                 style: s.outlineStyle, width: s.outlineWidth, color: s.outlineColor};",
        json!([]),
    )
}
