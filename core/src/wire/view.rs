//! The `record!` macro: from one field list, a fixed-size record's checked zero-copy view
//! (`new_checked`, then accessors that cannot panic), its plain `Repr` (`parse`, `emit`) and its
//! [`Layout`](super::Layout). Used by `wire/records.rs`.

macro_rules! record {
    (
        $(#[$meta:meta])*
        $view:ident, $repr:ident, $layout:ident = $rtype:ident, $size:expr;
        { $( $(#[$fmeta:meta])* $field:ident : $fty:ty = $off:expr, $sym:expr; )* }
    ) => {
        $(#[$meta])*
        ///
        /// A checked zero-copy view: [`new_checked`](Self::new_checked) verifies the type and the
        /// exact length, after which no accessor can fail or panic.
        #[derive(Debug, Clone, Copy)]
        pub struct $view<'a> {
            rec: Record<'a>,
        }

        impl<'a> $view<'a> {
            /// Size of the record, header included.
            pub const SIZE: usize = $size;

            /// Check type and length.
            pub fn new_checked(rec: Record<'a>) -> Result<Self, WireError> {
                if rec.ty != RecordType::$rtype {
                    return Err(WireError::WrongType {
                        offset: rec.offset,
                        found: rec.ty,
                        expected: RecordType::$rtype,
                    });
                }
                if rec.bytes.len() != $size {
                    return Err(WireError::WrongLen {
                        offset: rec.offset,
                        ty: rec.ty,
                        len: rec.bytes.len(),
                        expected: $size,
                    });
                }
                Ok($view { rec })
            }

            /// The underlying record.
            pub fn record(&self) -> Record<'a> {
                self.rec
            }

            $(
                $(#[$fmeta])*
                #[inline]
                pub fn $field(&self) -> $fty {
                    <$fty as Scalar>::read(self.rec.bytes, $off)
                }
            )*
        }

        #[doc = concat!("Plain representation of a `", stringify!($rtype), "` record.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $repr {
            $( $(#[$fmeta])* pub $field: $fty, )*
        }

        impl $repr {
            /// Size of the record, header included.
            pub const SIZE: usize = $size;

            /// Copy the fields out of a checked view.
            pub fn parse(view: &$view<'_>) -> Self {
                // Through a fixed-size array: one length check instead of one per field (the
                // view's length was checked; the default is unreachable).
                match <&[u8; $size]>::try_from(view.rec.bytes) {
                    Ok(b) => $repr { $( $field: <$fty as Scalar>::read(b, $off), )* },
                    Err(_) => Self::default(),
                }
            }

            /// Append the record (header, fields, zero padding) to `out`.
            pub fn emit(&self, out: &mut Vec<u8>) {
                let start = out.len();
                out.resize(start + $size, 0);
                let b = &mut out[start..];
                RecordType::$rtype.0.write(b, 0);
                ($size as u32).write(b, 4);
                $( self.$field.write(b, $off); )*
            }
        }

        #[doc = concat!("Field table of `", stringify!($rtype), "`.")]
        pub const $layout: Layout = Layout {
            ty: RecordType::$rtype,
            size: $size,
            fields: &[ $( FieldDesc {
                name: stringify!($field),
                offset: $off,
                size: <$fty as Scalar>::SIZE,
                signed: <$fty as Scalar>::SIGNED,
                sym: $sym,
            }, )* ],
        };
    };
}
