//! A browser named for people ("Chrome 126 on Linux"), from its User-Agent,
//! for mail about new sign-ins and the sessions page.

/// What the User-Agent says, in words; "an unknown browser" when it says nothing we know.
pub fn described(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|u| !u.trim().is_empty()) else {
        return "an unknown browser".into();
    };
    let known = |v: &str| !v.is_empty() && v != "UNKNOWN";
    match woothee::parser::Parser::new().parse(ua) {
        Some(r) if known(r.name) && matches!(r.category, "pc" | "smartphone" | "mobilephone") => {
            let major = r.version.split('.').next().unwrap_or("");
            let mut s = r.name.to_string();
            if known(major) {
                s = format!("{s} {major}");
            }
            if known(r.os) {
                s = format!("{s} on {}", r.os);
            }
            s
        }
        // Programs (git, curl, scripts) name themselves first.
        _ => {
            let first: String = ua
                .split_whitespace()
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(40)
                .collect();
            if first.is_empty() {
                "an unknown browser".into()
            } else {
                first
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_and_programs_are_named() {
        assert_eq!(
            described(Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36")),
            "Chrome 126 on Linux"
        );
        assert_eq!(
            described(Some(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
            )),
            "Firefox 128 on Windows 10"
        );
        assert_eq!(described(Some("curl/8.5.0")), "curl/8.5.0");
        assert_eq!(described(Some("   ")), "an unknown browser");
        assert_eq!(described(None), "an unknown browser");
        assert_eq!(described(Some("\u{1}\u{2}")), "an unknown browser");
    }
}
