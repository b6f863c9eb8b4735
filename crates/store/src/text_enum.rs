//! States stored as text, typed in code: one `as_str` / `FromStr` pair per
//! enum; bound as their text, and read back from it (unknown text is
//! `StoreError::UnknownValue`).

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::StoreError;
            fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(crate::StoreError::UnknownValue(other.chars().take(40).collect())),
                }
            }
        }

        impl crate::row::Encode for $name {
            const KIND: crate::row::Kind = crate::row::Kind::Text;
            fn encode(self) -> crate::row::Value {
                crate::row::Value::Text(self.as_str().to_string())
            }
        }

        impl crate::row::Decode for $name {
            fn decode(value: &crate::row::Value, column: &str) -> crate::Result<Self> {
                match value {
                    crate::row::Value::Text(s) => s.parse(),
                    other => Err(crate::row::mismatch(other, column, "text")),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = crate::StoreError;
            fn try_from(s: String) -> std::result::Result<Self, Self::Error> {
                s.parse()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::authenticators::Status;
    use crate::email_tokens::Purpose;
    use crate::sessions::Stage;

    #[test]
    fn stored_names_parse_back_and_unknown_ones_are_refused() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), *s);
        }
        for p in Purpose::ALL {
            assert_eq!(p.as_str().parse::<Purpose>().unwrap(), *p);
        }
        for s in Stage::ALL {
            assert_eq!(Stage::try_from(s.as_str().to_string()).unwrap(), *s);
        }
        assert!("ACTIVE".parse::<Status>().is_err());
        assert!("".parse::<Stage>().is_err());
    }

    #[test]
    fn a_column_with_unknown_text_fails_to_decode() {
        use crate::row::{Decode, Value};
        use crate::StoreError;
        let got = Stage::decode(&Value::Text("half".into()), "stage");
        assert!(matches!(got, Err(StoreError::UnknownValue(v)) if v == "half"));
        let got = Stage::decode(&Value::Int(1), "stage");
        assert!(matches!(got, Err(StoreError::ColumnType { .. })));
        assert_eq!(
            Stage::decode(&Value::Text("full".into()), "stage").unwrap(),
            Stage::Full
        );
    }
}
