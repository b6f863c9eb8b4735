//! Amounts as people read them: "1 hour", "90 minutes", "2 codes".

/// `n` of `noun`, its plural an added "s": "1 code", "2 codes".
pub fn count(n: i64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// How long `secs` seconds is, in the largest unit that counts it exactly:
/// "72 hours", "1 hour", "90 minutes", "20 seconds".
pub fn span(secs: i64) -> String {
    if secs >= 3600 && secs % 3600 == 0 {
        count(secs / 3600, "hour")
    } else if secs >= 60 && secs % 60 == 0 {
        count(secs / 60, "minute")
    } else {
        count(secs, "second")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_and_counts_read_in_words() {
        assert_eq!(span(72 * 3600), "72 hours");
        assert_eq!(span(3600), "1 hour");
        assert_eq!(span(90 * 60), "90 minutes");
        assert_eq!(span(20), "20 seconds");
        assert_eq!(span(1), "1 second");
        assert_eq!(count(1, "unused recovery code"), "1 unused recovery code");
        assert_eq!(count(2, "code"), "2 codes");
    }
}
