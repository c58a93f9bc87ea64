//! The UniFFI bindings generator, built from the same uniffi version as the
//! library so generated Kotlin, Swift and Python always match its scaffolding.
//! See `bindings/generate.sh`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
