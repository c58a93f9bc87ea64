//! Unit tests for accounts: grid levels, workers, scope, tokens.

use super::*;
use crate::error::Error;

fn fresh() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::db::open(dir.path()).unwrap();
    (dir, db)
}

/// Town T → community C → 3rd level C-1 → grids G1, G2; a second community C2.
fn tree(db: &Db) {
    add_grid(db, "T", "演示镇", None).unwrap();
    add_grid(db, "C", "幸福社区", Some("T")).unwrap();
    add_grid(db, "C2", "和平社区", Some("T")).unwrap();
    add_grid(db, "C-1", "一片区", Some("C")).unwrap();
    add_grid(db, "G1", "第一网格", Some("C-1")).unwrap();
    add_grid(db, "G2", "第二网格", Some("C-1")).unwrap();
}

fn codes(scope: &[GridCode]) -> Vec<&str> {
    scope.iter().map(|g| g.as_str()).collect()
}

#[test]
fn levels_follow_the_parent_chain() {
    let (_dir, db) = fresh();
    tree(&db);
    let grids = list_grids(&db).unwrap();
    let levels: Vec<(&str, u8)> = grids.iter().map(|g| (g.code.as_str(), g.level)).collect();
    assert_eq!(
        levels,
        [
            ("T", 1),
            ("C", 2),
            ("C2", 2),
            ("C-1", 3),
            ("G1", 4),
            ("G2", 4)
        ]
    );
    let g1 = grids.iter().find(|g| g.code.as_str() == "G1").unwrap();
    assert_eq!(g1.parent.as_ref().map(|p| p.as_str()), Some("C-1"));
    assert_eq!(g1.name, "第一网格");
}

#[test]
fn fifth_level_is_rejected() {
    let (_dir, db) = fresh();
    tree(&db);
    let err = add_grid(&db, "X", "太深", Some("G1")).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "parent"),
        "{err}"
    );
    assert_eq!(list_grids(&db).unwrap().len(), 6);
}

#[test]
fn unknown_parent_duplicate_code_and_bad_input_are_rejected() {
    let (_dir, db) = fresh();
    tree(&db);
    let err = add_grid(&db, "X", "x", Some("NOPE")).unwrap_err();
    assert!(matches!(err, Error::NotFound { kind: "grid", .. }), "{err}");
    let err = add_grid(&db, "G1", "again", Some("C-1")).unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert!(matches!(
        add_grid(&db, "", "x", None),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        add_grid(&db, "has space", "x", None),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        add_grid(&db, "Y", "  ", None),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn workers_need_a_known_grid_and_gridworkers_a_fourth_level_one() {
    let (_dir, db) = fresh();
    tree(&db);
    let w = add_worker(&db, "gw-1", "网格员甲", Role::Gridworker, "G1").unwrap();
    assert_eq!((w.role, w.grid.as_str()), (Role::Gridworker, "G1"));
    let err = add_worker(&db, "gw-2", "网格员乙", Role::Gridworker, "C").unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "grid"),
        "{err}"
    );
    let err = add_worker(&db, "gw-3", "x", Role::CommunityStaff, "NOPE").unwrap_err();
    assert!(matches!(err, Error::NotFound { kind: "grid", .. }));
    let err = add_worker(&db, "gw-1", "x", Role::Gridworker, "G2").unwrap_err();
    assert!(matches!(err, Error::Conflict(_)));
    add_worker(&db, "staff-1", "社区人员", Role::CommunityStaff, "C").unwrap();
    let ids: Vec<String> = list_workers(&db)
        .unwrap()
        .into_iter()
        .map(|w| w.id.0)
        .collect();
    assert_eq!(ids, ["gw-1", "staff-1"]);
}

#[test]
fn scopes_include_descendants() {
    let (_dir, db) = fresh();
    tree(&db);
    let scope = |grid: &str| crate::db::read(&db, |c| scope_of(c, grid)).unwrap();
    assert_eq!(codes(&scope("G1")), ["G1"]);
    assert_eq!(codes(&scope("C")), ["C", "C-1", "G1", "G2"]);
    assert_eq!(codes(&scope("T")), ["T", "C", "C2", "C-1", "G1", "G2"]);
    assert!(scope("NOPE").is_empty());
}

#[test]
fn tokens_issue_authenticate_and_revoke() {
    let (_dir, db) = fresh();
    tree(&db);
    add_worker(&db, "gw-1", "网格员甲", Role::Gridworker, "G1").unwrap();
    add_worker(&db, "staff-1", "社区人员", Role::CommunityStaff, "C").unwrap();

    let t1 = issue_token(&db, "gw-1").unwrap();
    assert_eq!(t1.worker.as_str(), "gw-1");
    assert_eq!(t1.token.len(), 43);
    assert!(t1
        .token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    let t2 = issue_token(&db, "gw-1").unwrap();
    assert_ne!(t1.token, t2.token);

    let account = authenticate(&db, &t1.token).unwrap();
    assert_eq!(account.worker_id.as_str(), "gw-1");
    assert_eq!(account.name, "网格员甲");
    assert_eq!(account.role, Role::Gridworker);
    assert_eq!(account.grid.as_str(), "G1");
    assert_eq!(codes(&account.scope), ["G1"]);
    assert!(account.covers(&GridCode("G1".into())));
    assert!(!account.covers(&GridCode("G2".into())));
    // The header form works too.
    let via_header = authenticate(&db, &format!("Bearer {}", t2.token)).unwrap();
    assert_eq!(via_header, account);

    // Only the hash is stored.
    let stored: Vec<Vec<u8>> = crate::db::read(&db, |c| {
        let mut stmt = c.prepare("SELECT hash FROM tokens ORDER BY created_at")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
    .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored
        .iter()
        .any(|h| h.as_slice() == token_hash(&t1.token).unwrap()));
    assert!(stored.iter().all(|h| h.len() == 32));

    let staff = issue_token(&db, "staff-1").unwrap();
    let staff_account = authenticate(&db, &staff.token).unwrap();
    assert_eq!(codes(&staff_account.scope), ["C", "C-1", "G1", "G2"]);

    assert_eq!(revoke_tokens(&db, "gw-1").unwrap(), 2);
    assert_eq!(revoke_tokens(&db, "gw-1").unwrap(), 0);
    assert!(matches!(
        authenticate(&db, &t1.token),
        Err(Error::Unauthorized)
    ));
    assert!(matches!(
        authenticate(&db, &t2.token),
        Err(Error::Unauthorized)
    ));
    // Other workers' tokens are untouched.
    assert!(authenticate(&db, &staff.token).is_ok());
    // A new token works again after a revoke.
    let t3 = issue_token(&db, "gw-1").unwrap();
    assert!(authenticate(&db, &t3.token).is_ok());
}

#[test]
fn unknown_and_malformed_tokens_are_unauthorized() {
    let (_dir, db) = fresh();
    tree(&db);
    for bad in [
        "",
        "Bearer",
        "short",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ] {
        assert!(
            matches!(authenticate(&db, bad), Err(Error::Unauthorized)),
            "{bad:?}"
        );
    }
    assert!(matches!(
        issue_token(&db, "nobody"),
        Err(Error::NotFound { kind: "worker", .. })
    ));
    assert!(matches!(
        revoke_tokens(&db, "nobody"),
        Err(Error::NotFound { kind: "worker", .. })
    ));
}

#[tokio::test]
async fn extractor_reads_the_bearer_header() {
    use axum::extract::FromRequestParts;
    let dir = tempfile::tempdir().unwrap();
    let db = crate::db::open(dir.path()).unwrap();
    tree(&db);
    add_worker(&db, "gw-1", "网格员甲", Role::Gridworker, "G1").unwrap();
    let token = issue_token(&db, "gw-1").unwrap().token;
    let state = crate::state::AppState::new(db, dir.path().to_path_buf());
    let parts = |auth: Option<String>| {
        let mut builder = axum::http::Request::builder().uri("/v1/sync");
        if let Some(auth) = auth {
            builder = builder.header("authorization", auth);
        }
        builder.body(()).unwrap().into_parts().0
    };
    let mut ok = parts(Some(format!("Bearer {token}")));
    let Authenticated(account) = Authenticated::from_request_parts(&mut ok, &state)
        .await
        .unwrap();
    assert_eq!(account.worker_id.as_str(), "gw-1");
    for auth in [
        None,
        Some(token.clone()),
        Some(format!("Basic {token}")),
        Some("Bearer nope".to_owned()),
    ] {
        let mut p = parts(auth.clone());
        let err = Authenticated::from_request_parts(&mut p, &state)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unauthorized), "{auth:?}");
    }
}
