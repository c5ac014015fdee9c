//! One table per field-less enum for the names its values are stored, sent and read under:
//! `name()`, `from_name()`, `ALL`, `Display` and serde all come from it, so the directions
//! cannot drift apart.

/// Declares a field-less enum with a name per variant:
///
/// ```
/// bunting_core::named! {
///     /// How it went.
///     pub enum Outcome {
///         Won => "won",
///         Lost => "lost",
///     }
/// }
/// assert_eq!(Outcome::from_name("lost"), Some(Outcome::Lost));
/// assert_eq!(serde_json::to_string(&Outcome::Won).unwrap(), "\"won\"");
/// ```
#[macro_export]
macro_rules! named {
    (
        $(#[$meta:meta])*
        $vis:vis enum $type:ident {
            $( $(#[$variant_meta:meta])* $variant:ident => $name:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $type {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $type {
            /// Every value, in declaration order.
            pub const ALL: [$type; [$($name),+].len()] = [$($type::$variant),+];

            /// The name the value is stored and sent under.
            pub fn name(self) -> &'static str {
                match self {
                    $( $type::$variant => $name, )+
                }
            }

            /// The value called `name`, if there is one.
            pub fn from_name(name: &str) -> Option<$type> {
                match name {
                    $( $name => Some($type::$variant), )+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl $crate::__serde::Serialize for $type {
            fn serialize<S: $crate::__serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $type {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(deserializer: D) -> Result<$type, D::Error> {
                let name = <String as $crate::__serde::Deserialize>::deserialize(deserializer)?;
                $type::from_name(&name).ok_or_else(|| {
                    <D::Error as $crate::__serde::de::Error>::unknown_variant(&name, &[$($name),+])
                })
            }
        }
    };
}
