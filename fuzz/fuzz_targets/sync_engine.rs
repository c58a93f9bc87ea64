//! Fuzzes the server's sync engine on decoded requests: the input is the
//! (uncompressed) postcard payload of a `SyncRequest`, so mutations keep
//! its structure — pushes of (mutated) Automerge docs under ids of every
//! kind, heads, slow-path messages, cursors, rounds, devices, workers and
//! grids — and each request runs through `engine::process` for the
//! gridworker gw-a of G1 against one server database. A hostile phone can
//! send any of this: the engine must answer or refuse with an error, never
//! panic. Every request runs in a transaction that is rolled back, so each
//! input meets the same database (deterministic, cheap).

#![no_main]

use gridwork_core::model::Timestamp;
use gridwork_core::sync::protocol::{self, SyncRequest};
use gridwork_fuzz::{ServerWorld, NOW};
use gridwork_server::sync::{engine, sqlite::SqliteTx};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static WORLD: OnceLock<ServerWorld> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(request) = postcard::from_bytes::<SyncRequest>(data) else {
        return;
    };
    let world = WORLD.get_or_init(ServerWorld::new);
    let answered = world.db.scratch(|tx| {
        let mut storage = SqliteTx::new(tx);
        engine::process(&mut storage, &world.account, &request, Timestamp(NOW))
            .map_err(|e| gridwork_core::Error::Protocol(e.to_string()))
    });
    if let Ok(response) = answered {
        assert_eq!(response.request_id, request.request_id);
        protocol::encode(&response).expect("every response encodes");
    }
});
