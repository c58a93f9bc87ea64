//! Fuzzes the sync body decoder: `POST /v1/sync` bodies come from the
//! network, so `decode_request` (every protocol version the server answers)
//! and the phone's response decoder must refuse any byte string with an
//! error, never panic, and never inflate more than `MAX_DECODED_BYTES`.
//! What decodes must survive a re-encode unchanged.

#![no_main]

use gridwork_core::sync::protocol::{self, SyncResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = protocol::version_of(data);
    if let Ok((request, version)) = protocol::decode_request(data) {
        let again = protocol::encode(&request).expect("a decoded request encodes");
        let (back, _) = protocol::decode_request(&again).expect("and decodes again");
        assert_eq!(back, request, "request round trip (version {version})");
    }
    if let Ok(response) = protocol::decode::<SyncResponse>(data) {
        for version in [1, 2, protocol::PROTOCOL_VERSION] {
            let again =
                protocol::encode_response(&response, version).expect("a decoded response encodes");
            assert_eq!(protocol::version_of(&again).ok(), Some(version));
        }
        let again = protocol::encode(&response).expect("encodes");
        assert_eq!(
            protocol::decode::<SyncResponse>(&again).ok(),
            Some(response)
        );
    }
});
