//! Checks of a decoded sync request before the engine sees it: every
//! identifier that arrives (device, server id, worker, grid, doc ids) has a
//! bounded length and a safe character set, and the request holds a
//! bounded number of docs. A request failing them is answered `400` (or
//! `413` for too many docs) with nothing changed; it cannot come from a
//! real phone. Per-doc limits (bytes, heads, changes) are the engine's, and
//! refuse only that doc ([`gridwork_core::sync::protocol::RejectReason::TooLarge`]).

use crate::error::Error;
use gridwork_core::model::text;
use gridwork_core::sync::protocol::{self, SyncRequest};

/// Longest server id (the server's own UUID is 36 characters).
const MAX_SERVER_ID_CHARS: usize = 64;

fn bad(field: &str, why: &str) -> Error {
    Error::invalid(field, why.to_string())
}

/// Check `request` (see the module header).
pub fn request(request: &SyncRequest) -> Result<(), Error> {
    let device = &request.device;
    if device.is_empty()
        || device.len() > protocol::MAX_DEVICE_CHARS
        || !device
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(bad(
            "device",
            "设备编号应为1至64位字母、数字、- 或 _ / the device id must be 1 to 64 ASCII letters, digits, - or _",
        ));
    }
    if request.server_id.len() > MAX_SERVER_ID_CHARS
        || !request.server_id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad("server_id", "服务器编号格式错误 / malformed server id"));
    }
    if !request.worker.is_empty() {
        text::WORKER_ID.check(&request.worker)?;
    }
    if !request.grid.is_empty() {
        text::GRID.check(&request.grid)?;
    }
    let docs = request.pushes.len() + request.sync_messages.len();
    if docs > protocol::MAX_DOCS_PER_REQUEST {
        return Err(Error::TooLarge(format!(
            "一次同步最多 {max} 个文档 / at most {max} docs per sync request",
            max = protocol::MAX_DOCS_PER_REQUEST
        )));
    }
    let ids = request
        .pushes
        .iter()
        .map(|p| &p.id)
        .chain(request.sync_messages.iter().map(|m| &m.id));
    for id in ids {
        if id.len() > protocol::MAX_DOC_ID_CHARS || id.chars().any(char::is_control) {
            return Err(bad(
                "doc_id",
                "文档编号过长或含控制字符 / a doc id is too long or holds control characters",
            ));
        }
    }
    Ok(())
}

/// Whether a pushed doc (or slow-path message) is within the per-doc
/// limits: its bytes and heads.
pub fn push_fits(heads: usize, bytes: usize) -> bool {
    heads <= protocol::MAX_HEADS && bytes <= protocol::MAX_PUSH_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwork_core::sync::protocol::{DocPush, SyncRequest};

    fn ok_request() -> SyncRequest {
        SyncRequest {
            device: "0a1b2c3d".into(),
            worker: "gw-1".into(),
            grid: "G1".into(),
            pushes: vec![DocPush {
                id: "household/0191d9a2-0000-7000-8000-000000000000".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn identifiers_are_bounded_and_clean() {
        request(&ok_request()).unwrap();
        for device in [
            "",
            "a\u{0}b",
            "a\u{1b}[31m",
            "é",
            &"a".repeat(65),
            &"f".repeat(1 << 20),
        ] {
            let r = SyncRequest {
                device: device.to_string(),
                ..ok_request()
            };
            let err = request(&r).unwrap_err();
            assert!(
                matches!(err, Error::Invalid { ref field, .. } if field == "device"),
                "{err}"
            );
        }
        let r = SyncRequest {
            worker: "gw\u{1b}1".into(),
            ..ok_request()
        };
        assert!(request(&r).is_err());
        let r = SyncRequest {
            grid: "G".repeat(65),
            ..ok_request()
        };
        assert!(request(&r).is_err());
        let mut r = ok_request();
        r.pushes[0].id = format!("household/{}", "x".repeat(200));
        assert!(request(&r).is_err());
    }

    #[test]
    fn too_many_docs_is_413() {
        let mut r = ok_request();
        r.pushes = vec![DocPush::default(); protocol::MAX_DOCS_PER_REQUEST + 1];
        assert!(matches!(request(&r), Err(Error::TooLarge(_))));
    }
}
