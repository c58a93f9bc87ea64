//! `gridwork sync`: one exchange with the server (documents, then photos),
//! or with `--watch` a loop that syncs whenever the server says there is
//! new work (`GET /v1/wait`, the core's [`Store::wait_for_changes`]),
//! printing each sync's summary as one JSON line, until Ctrl-C.

use crate::output;
use crate::{to_json, Failure, Outcome};
use gridwork_core::sync::{PhotoSyncOptions, SyncOptions, WaitOptions};
use gridwork_core::{Error, Store};
use serde_json::json;
use std::time::Duration;

/// The flags of one `gridwork sync` run.
pub struct SyncRun<'a> {
    pub server: &'a str,
    pub token: &'a str,
    pub allow_insecure: bool,
    pub photos: bool,
    pub no_photos: bool,
    pub photo_budget_mib: Option<u64>,
}

/// Why a step of the loop failed: the core's error (to tell a refused
/// token from a lost signal) or another failure.
enum StepError {
    Core(Error),
    Other(Failure),
}

impl From<Error> for StepError {
    fn from(e: Error) -> Self {
        StepError::Core(e)
    }
}

impl From<Failure> for StepError {
    fn from(f: Failure) -> Self {
        StepError::Other(f)
    }
}

impl From<StepError> for Failure {
    fn from(e: StepError) -> Self {
        match e {
            StepError::Core(e) => Failure::from(e),
            StepError::Other(f) => f,
        }
    }
}

/// One sync: documents (unless `--photos`), photos (unless
/// `--no-photos`), the photo budget; the summary.
pub fn sync_once(store: &Store, run: &SyncRun<'_>) -> Outcome {
    Ok(sync_step(store, run)?)
}

fn sync_step(store: &Store, run: &SyncRun<'_>) -> Result<serde_json::Value, StepError> {
    let mut out = if run.photos {
        json!({})
    } else {
        to_json(store.sync(
            run.server,
            run.token,
            &SyncOptions {
                allow_insecure: run.allow_insecure,
                ..Default::default()
            },
        )?)?
    };
    if !run.no_photos {
        let options = PhotoSyncOptions {
            progress: run.photos.then(|| {
                std::sync::Arc::new(|p: &gridwork_core::sync::photos::PhotoProgress| {
                    output::note(&json!({ "photo_progress": p }).to_string())
                }) as _
            }),
            ..Default::default()
        };
        out["photos"] =
            to_json(store.upload_photos(run.server, run.token, run.allow_insecure, &options)?)?;
    }
    if let Some(mib) = run.photo_budget_mib {
        out["photo_budget"] = to_json(store.trim_attachments(mib.saturating_mul(1024 * 1024))?)?;
    }
    out["upload_queue"] = to_json(store.upload_queue()?)?;
    Ok(out)
}

/// Longest pause after a failed sync or wait before trying again.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How often `sync --watch` syncs when the server has no wait endpoint
/// (an older server answers 404): a plain periodic sync.
const PERIODIC: Duration = Duration::from_secs(60);

/// `sync --watch`: sync, then wait for new work and sync again, forever.
/// Each sync's summary is one compact JSON line on stdout (with the time it
/// ended); a failure (no signal, server down, a wait refused) is one line
/// on stderr and the loop syncs again after a pause growing from 2 s to a
/// minute, reset only once a wait succeeds. A server without the wait
/// endpoint is synced every minute instead. A refused token or a phone of
/// another account ends the loop with the error.
pub fn watch(store: &Store, run: &SyncRun<'_>) -> Outcome {
    let mut backoff = Duration::from_secs(2);
    let mut must_sync = true;
    loop {
        let step = if must_sync {
            sync_step(store, run).map(|mut summary| {
                summary["synced_at"] = json!(jiff::Timestamp::now().to_string());
                if output::line(&summary).is_err() {
                    // stdout is gone (the reader quit): stop quietly.
                    std::process::exit(0);
                }
                false
            })
        } else {
            store
                .wait_for_changes(
                    run.server,
                    run.token,
                    &WaitOptions {
                        allow_insecure: run.allow_insecure,
                        ..Default::default()
                    },
                )
                .map_err(StepError::from)
        };
        let waited = !must_sync;
        match step {
            Ok(next) => {
                if waited {
                    backoff = Duration::from_secs(2);
                }
                must_sync = next;
            }
            Err(StepError::Core(e @ (Error::Unauthorized | Error::AccountMismatch(_)))) => {
                return Err(Failure::from(e));
            }
            Err(StepError::Core(Error::Server {
                status: 404 | 405, ..
            })) if waited => {
                std::thread::sleep(PERIODIC);
                must_sync = true;
            }
            Err(e) => {
                output::error(&Failure::from(e).0);
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                must_sync = true;
            }
        }
    }
}
