//! States stored as text, typed in code: one `as_str` / `FromStr` pair per
//! enum, and rows read them through `#[sqlx(try_from = "String")]`.

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
}
