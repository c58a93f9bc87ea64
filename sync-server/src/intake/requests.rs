//! What a resident files through an invitation link: a request, which the
//! server turns into a `collected` case in the grid's documents (the
//! 30-minute clock starts at the server's receipt), and a proposed change
//! of a household's contact details, which waits in `household_proposals`
//! until the gridworker deals with it. Each request gets a tracking token
//! whose hash is kept; the token itself is shown to the resident once.

use super::invites::Invite;
use crate::error::Error;
use crate::publish::{staff_meta_in, Publisher};
use base64::Engine;
use gridwork_core::api::open_case_in;
use gridwork_core::docs::DocId;
use gridwork_core::model::{CaseId, CaseState, GridCode, NewCase, Timestamp, Workflow};
use gridwork_core::store::sql::SqlConn;
use serde::Serialize;

/// The worker id cases filed by residents carry as `opened_by` (a service
/// actor bound to no device).
pub const RESIDENT_ACTOR: &str = "resident";

/// Longest request text, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest place or name, in characters.
pub const MAX_SHORT_CHARS: usize = 100;

/// The categories a resident picks from: code, zh-CN label (stored as the
/// case's category, as the phones do), English label.
pub const CATEGORIES: &[(&str, &str, &str)] = &[
    ("sanitation", "环境卫生", "Sanitation"),
    ("dispute", "邻里纠纷", "Neighbour dispute"),
    ("proxy", "帮办代办", "Help with paperwork"),
    ("repair", "设施报修", "Repairs"),
    ("policy", "政策咨询", "Policy question"),
    ("noise", "噪音扰民", "Noise"),
    ("property", "物业管理", "Property management"),
    ("elderly", "养老服务", "Elderly care"),
    ("safety", "安全隐患", "Safety hazard"),
    ("other", "其他", "Other"),
];

/// A resident's request, as typed.
#[derive(Clone, Debug, Default)]
pub struct ResidentRequest {
    /// A code of [`CATEGORIES`].
    pub category: String,
    /// What the problem is.
    pub text: String,
    /// Where (optional).
    pub place: String,
    /// A number to call back (optional).
    pub phone: String,
    /// Photos sent with it: ids of blobs already in the server's blob
    /// store (at most one from the H5 page).
    pub photos: Vec<String>,
}

/// What filing a request made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Filed {
    /// The new case.
    pub case_id: String,
    /// The tracking token (shown to the resident once; only its hash is kept).
    pub tracking: String,
    /// The case's grid (its feed scope).
    pub grid: String,
}

fn check_text(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<String, Error> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(Error::invalid(field, "请填写此项 / this field is required"));
    }
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("不能超过 {max} 字 / at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Error::invalid(
            field,
            "含有无效字符 / contains invalid characters",
        ));
    }
    Ok(value.replace("\r\n", "\n"))
}

/// A callback number: digits, spaces, `+` and `-`, 5 to 20 characters.
fn check_phone(value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if value.chars().count() > 20
        || digits < 5
        || !value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-'))
    {
        return Err(Error::invalid(
            "phone",
            "请填写有效的电话号码 / enter a valid phone number",
        ));
    }
    Ok(value.to_string())
}

/// The zh-CN label of category `code`.
pub fn category_label(code: &str) -> Option<&'static str> {
    CATEGORIES.iter().find(|c| c.0 == code).map(|c| c.1)
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Check `request`'s fields (the checks [`file_request_in`] makes, callable
/// before anything is stored or counted against the limits): the case's
/// category label and its description (text, then place and callback
/// number on lines of their own).
pub fn check_request(request: &ResidentRequest) -> Result<(&'static str, String), Error> {
    let category = category_label(request.category.trim())
        .ok_or_else(|| Error::invalid("category", "请选择问题类别 / choose a category"))?;
    let mut description = check_text("text", &request.text, MAX_TEXT_CHARS, true)?;
    let place = check_text("place", &request.place, MAX_SHORT_CHARS, false)?;
    let phone = check_phone(&request.phone)?;
    if !place.is_empty() {
        description.push_str(&format!("\n地点：{place}"));
    }
    if !phone.is_empty() {
        description.push_str(&format!("\n回电：{phone}"));
    }
    Ok((category, description))
}

/// Check `proposal`'s fields (the checks [`propose_contact_in`] makes):
/// the cleaned proposal.
pub fn check_proposal(proposal: &ContactProposal) -> Result<ContactProposal, Error> {
    let checked = ContactProposal {
        address: check_text("address", &proposal.address, MAX_SHORT_CHARS, true)?,
        name: check_text("name", &proposal.name, MAX_SHORT_CHARS, false)?,
        phone: check_phone(&proposal.phone)?,
        note: check_text("note", &proposal.note, MAX_TEXT_CHARS, false)?,
    };
    if checked.phone.is_empty() {
        return Err(Error::invalid(
            "phone",
            "请填写新的联系电话 / enter the new phone number",
        ));
    }
    Ok(checked)
}

/// File `request` through `invite` at `now` (ms), in one write transaction
/// of either backend: the case (made by [`RESIDENT_ACTOR`], channel WeChat,
/// opened at `now`), its feed entry and the tracking row.
pub fn file_request_in<P: Publisher + ?Sized>(
    tx: &mut P,
    invite: &Invite,
    request: &ResidentRequest,
    now: i64,
) -> Result<Filed, Error> {
    let (category, description) = check_request(request)?;
    let mut meta = staff_meta_in(tx.sql(), RESIDENT_ACTOR)?;
    meta.at = Timestamp(now);
    let id = CaseId::new();
    let grid = GridCode(invite.grid.clone());
    open_case_in(
        tx,
        id,
        &NewCase {
            channel: "wechat".into(),
            category: category.into(),
            description,
            urgency: "normal".into(),
            photos: request.photos.clone(),
            ..NewCase::default()
        },
        &grid,
        &meta,
    )?;
    tx.touch_feed(&DocId::case(id), &grid)?;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| Error::Internal(e.to_string()))?;
    let tracking = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    tx.sql().exec(
        "INSERT INTO resident_requests (tracking_hash, case_id, invite_id, received_at) VALUES (?1, ?2, ?3, ?4)",
        &[
            sha256_hex(&tracking).as_str().into(),
            id.to_string().as_str().into(),
            invite.id.as_str().into(),
            now.into(),
        ],
    )?;
    Ok(Filed {
        case_id: id.to_string(),
        tracking,
        grid: invite.grid.clone(),
    })
}

/// What the tracking page shows: the request's category, when it was
/// received, its status, when it was first answered and closed — nothing
/// else of the case (no notes, names or other cases).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tracked {
    /// The category (zh-CN, as stored).
    pub category: String,
    /// When the server received it (ms).
    pub received_at: i64,
    /// Its status.
    pub status: CaseState,
    /// When a gridworker first responded (ms).
    pub first_response_at: Option<i64>,
    /// When it was closed (ms).
    pub closed_at: Option<i64>,
}

/// The request a tracking token names (`None`: unknown token).
pub fn track_in<C: SqlConn + ?Sized>(conn: &C, tracking: &str) -> Result<Option<Tracked>, Error> {
    if tracking.len() != 43
        || !tracking
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(None);
    }
    // The first response at the time the server checked (a phone's clock
    // may run fast or its move be back-dated), never before the receipt.
    let Some(row) = conn.row(
        &format!(
            "SELECT c.category, r.received_at, c.status, cc.first_response_at, c.doc_key
             FROM resident_requests r JOIN cases c ON c.id = r.case_id
                  JOIN ({checked}) cc ON cc.id = c.id
             WHERE r.tracking_hash = ?1",
            checked = crate::dashboard::checked_cases(),
        ),
        &[sha256_hex(tracking).as_str().into()],
    )?
    else {
        return Ok(None);
    };
    let [category, received_at, status, first_response_at, doc_key] =
        crate::sync::storage::cells(row)?;
    let received_at = received_at.int()?;
    let status = CaseState::parse(&status.text()?)?;
    let closed_at = if status == CaseState::Closed {
        conn.value(
            "SELECT MAX(at) FROM case_transitions WHERE doc_key = ?1 AND to_state = 'closed'",
            &[doc_key.int()?.into()],
        )?
        .map(|v| v.opt_int())
        .transpose()?
        .flatten()
    } else {
        None
    };
    Ok(Some(Tracked {
        category: category.text()?,
        received_at,
        status,
        first_response_at: first_response_at.opt_int()?.map(|at| at.max(received_at)),
        closed_at: closed_at.map(|at| at.max(received_at)),
    }))
}

/// A resident's proposed change of their household's contact details.
#[derive(Clone, Debug, Default)]
pub struct ContactProposal {
    /// The household's address, as the resident writes it.
    pub address: String,
    /// The contact's name.
    pub name: String,
    /// The new phone number.
    pub phone: String,
    /// Anything else.
    pub note: String,
}

/// A stored proposal, as the dashboard lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Proposal {
    /// Id.
    pub id: String,
    /// Grid.
    pub grid: String,
    /// Address as written.
    pub address: String,
    /// Contact name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// Note.
    pub note: String,
    /// When it came (ms).
    pub received_at: i64,
    /// `applied` or `dismissed` once decided.
    pub outcome: Option<String>,
}

/// Keep `proposal` for the gridworker of `invite`'s grid; nothing touches
/// the register.
pub fn propose_contact_in<C: SqlConn + ?Sized>(
    conn: &C,
    invite: &Invite,
    proposal: &ContactProposal,
    now: i64,
) -> Result<String, Error> {
    let ContactProposal {
        address,
        name,
        phone,
        note,
    } = check_proposal(proposal)?;
    let id = uuid::Uuid::now_v7().to_string();
    conn.exec(
        "INSERT INTO household_proposals (id, grid, invite_id, address, name, phone, note, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            id.as_str().into(),
            invite.grid.as_str().into(),
            invite.id.as_str().into(),
            address.as_str().into(),
            name.as_str().into(),
            phone.as_str().into(),
            note.as_str().into(),
            now.into(),
        ],
    )?;
    Ok(id)
}

/// The undecided proposals of these grids, oldest first.
pub fn open_proposals_in<C: SqlConn + ?Sized>(
    conn: &C,
    grids: &[GridCode],
) -> Result<Vec<Proposal>, Error> {
    let mut out = Vec::new();
    for grid in grids {
        for row in conn.rows(
            "SELECT id, grid, address, name, phone, note, received_at, outcome
             FROM household_proposals WHERE grid = ?1 AND outcome IS NULL ORDER BY received_at LIMIT ?2",
            &[grid.as_str().into(), (PROPOSALS_SHOWN as i64).into()],
        )? {
            let [id, grid, address, name, phone, note, received_at, outcome] =
                crate::sync::storage::cells(row)?;
            out.push(Proposal {
                id: id.text()?,
                grid: grid.text()?,
                address: address.text()?,
                name: name.text()?,
                phone: phone.text()?,
                note: note.text()?,
                received_at: received_at.int()?,
                outcome: outcome.opt_text()?,
            });
        }
    }
    out.sort_by_key(|p| p.received_at);
    out.truncate(PROPOSALS_SHOWN);
    Ok(out)
}

/// Open proposals a page shows at most (oldest first; the rest wait their
/// turn, and the page says how many there are).
pub const PROPOSALS_SHOWN: usize = 100;

/// How many undecided proposals these grids have.
pub fn count_open_proposals_in<C: SqlConn + ?Sized>(
    conn: &C,
    grids: &[GridCode],
) -> Result<u32, Error> {
    let mut total = 0;
    for grid in grids {
        total += conn
            .value(
                "SELECT count(*) FROM household_proposals WHERE grid = ?1 AND outcome IS NULL",
                &[grid.as_str().into()],
            )?
            .map(|v| v.count())
            .transpose()?
            .unwrap_or(0);
    }
    Ok(total)
}

/// Record the decision on proposal `id` (of a grid in `grids`):
/// `applied` (the gridworker changed the register) or `dismissed`.
pub fn decide_proposal_in<C: SqlConn + ?Sized>(
    conn: &C,
    id: &str,
    grids: &[GridCode],
    outcome: &str,
    by: &str,
    now: i64,
) -> Result<(), Error> {
    let grid = conn
        .value(
            "SELECT grid FROM household_proposals WHERE id = ?1 AND outcome IS NULL",
            &[id.into()],
        )?
        .ok_or_else(|| Error::not_found("proposal", ""))?
        .text()?;
    if !grids.iter().any(|g| g.as_str() == grid) {
        return Err(Error::not_found("proposal", ""));
    }
    if !matches!(outcome, "applied" | "dismissed") {
        return Err(Error::invalid(
            "outcome",
            "applied 或 dismissed / applied or dismissed",
        ));
    }
    conn.exec(
        "UPDATE household_proposals SET outcome = ?2, decided_by = ?3, decided_at = ?4 WHERE id = ?1",
        &[id.into(), outcome.into(), by.into(), now.into()],
    )?;
    Ok(())
}
