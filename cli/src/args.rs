//! Command-line grammar of `gridwork` (clap derive). Names and flags here are
//! a contract other people's scripts rely on: add freely, rename only with an
//! alias.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// gridwork — drives the Gridwork core exactly as a phone does; prints JSON.
#[derive(Parser, Debug)]
#[command(name = "gridwork", version, about)]
pub struct Cli {
    /// Path of the store (SQLite file). Only `init` and `demo` create it;
    /// every other command on a missing file fails.
    #[arg(long, global = true, default_value = "gridwork.db")]
    pub store: PathBuf,
    /// Name of the environment variable that holds the database key. The key
    /// is never accepted on the command line.
    #[arg(long, global = true, value_name = "VAR")]
    pub key_env: Option<String>,
    /// IANA time zone for local days and months (visit schedules, monthly
    /// figures, work-log months).
    #[arg(
        long,
        global = true,
        default_value = "Asia/Shanghai",
        value_name = "TZ"
    )]
    pub timezone: String,
    /// Pretend the current time is this RFC 3339 instant (tests, demos).
    #[arg(long, global = true, hide = true, value_name = "INSTANT")]
    pub now: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Set the phone's owner and grid (once per store; `--force` starts a
    /// fully synced store over, `--force --discard-unsynced` any store).
    Init {
        /// Worker id as assigned by the office.
        #[arg(long)]
        worker_id: String,
        /// Worker name.
        #[arg(long)]
        worker_name: String,
        /// The worker's 4th-level grid code.
        #[arg(long)]
        grid: String,
        /// Re-initialise an initialised store: remove every record and the
        /// sync state, then set this owner and grid. Refused (nothing
        /// changed) while any change is not yet synced.
        #[arg(long)]
        force: bool,
        /// With --force: re-initialise even though changes are not yet
        /// synced, and discard them (for a phone initialised with the wrong
        /// grid or worker, whose sync is refused). Save the household
        /// register first with `export households` and read it back with
        /// `import register`.
        #[arg(long, requires = "force")]
        discard_unsynced: bool,
    },
    /// Households.
    #[command(subcommand)]
    Household(HouseholdCmd),
    /// Residents.
    #[command(subcommand)]
    Resident(ResidentCmd),
    /// Door-to-door visits.
    #[command(subcommand)]
    Visit(VisitCmd),
    /// Safety hazards.
    #[command(subcommand)]
    Hazard(HazardCmd),
    /// Residents' requests and events.
    #[command(subcommand)]
    Case(CaseCmd),
    /// Form templates and twelve-duties records.
    #[command(subcommand)]
    Form(FormCmd),
    /// The daily work log.
    #[command(subcommand)]
    Worklog(WorklogCmd),
    /// Households due or overdue a visit, most urgent first.
    Due,
    /// Fields edited concurrently on several devices.
    Conflicts {
        /// Optional action (default: list).
        #[command(subcommand)]
        action: Option<ConflictCmd>,
    },
    /// Local figures: coverage, special groups due, open hazards, response times.
    Report,
    /// What runs out soon, for notifications: households due today, cases
    /// whose first-response or handling clock runs out within the window,
    /// hazards whose rectification deadline comes; overdue ones always;
    /// soonest first.
    Reminders {
        /// Look-ahead: minutes (`30`), or with a unit: `30m`, `2h`, `1d`
        /// (at most a week).
        #[arg(long, default_value = "30m", value_parser = parse_within)]
        within: u32,
    },
    /// Exchange changes with the sync server; prints a summary.
    Sync {
        /// Server base URL, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// Name of the environment variable that holds the device token.
        #[arg(long, value_name = "VAR")]
        token_env: String,
        /// Allow plain http:// to a server that is not on this machine
        /// (test set-ups only: resident data would travel unencrypted).
        #[arg(long)]
        allow_insecure: bool,
        /// Only the photo step: upload waiting photos (resuming partial
        /// uploads), printing one progress line per chunk on stderr.
        #[arg(long)]
        photos: bool,
        /// Skip the photo step after the documents (the summary still
        /// counts the photos waiting).
        #[arg(long, conflicts_with = "photos")]
        no_photos: bool,
        /// After the photo step, drop uploaded originals (oldest first,
        /// each kept as a thumbnail) while the photos on the phone take more
        /// than this many MiB.
        #[arg(long, value_name = "MIB")]
        photo_budget_mib: Option<u64>,
        /// Keep running: after each sync, wait for the server to signal new
        /// work for this phone (held up to 55 s, then asked again) and sync
        /// again; one JSON summary line per sync; Ctrl-C stops.
        #[arg(long, conflicts_with = "photos")]
        watch: bool,
    },
    /// Photos and other attachments.
    #[command(subcommand)]
    Photo(PhotoCmd),
    /// Fill the store with a deterministic demo grid (initialising a fresh
    /// store with a demo gridworker first). An initialised store is refused:
    /// its next sync would spread the fabricated records.
    Demo {
        /// Households.
        #[arg(long, default_value_t = 150)]
        households: u32,
        /// Years of history.
        #[arg(long, default_value_t = 5)]
        years: u32,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON line per committed household on stderr.
        #[arg(long)]
        progress: bool,
        /// Also fill an initialised store, provided it has never synced
        /// (refused once it has).
        #[arg(long)]
        force: bool,
    },
    /// Write households (the register, one row per resident), visits,
    /// hazards or cases to an Excel workbook or a CSV file; prints
    /// {"kind", "format", "rows", "bytes", "out"}.
    Export {
        /// What to export.
        #[arg(value_parser = ["households", "visits", "hazards", "cases"])]
        kind: String,
        /// xlsx or csv (default: the extension of --out).
        #[arg(long, value_parser = ["xlsx", "csv"])]
        format: Option<String>,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Read records from a file.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Rebuild the read models into a scratch copy and compare; exit 1 on any difference.
    Check,
    /// Recompute every read model from the documents.
    Rebuild,
    /// List every stored document with its heads (to compare replicas), its
    /// format, whether it is read-only here and why it is quarantined.
    Docs {
        /// Only documents kept but not materialised, with the reason.
        #[arg(long)]
        quarantined: bool,
        /// Only documents of a newer format (read-only here).
        #[arg(long)]
        read_only: bool,
    },
}

/// `household …`
#[derive(Subcommand, Debug)]
pub enum HouseholdCmd {
    /// Register a household; prints {"id": …}.
    Add(HouseholdFields),
    /// List households with their next due visit.
    List {
        /// Search address, representative and resident names.
        #[arg(long)]
        search: Option<String>,
        /// Only households with this special-group tag.
        #[arg(long)]
        tag: Option<String>,
    },
    /// Show one household with its residents.
    Show {
        /// Household id.
        id: String,
    },
    /// Edit a household.
    Edit {
        /// Household id.
        id: String,
        /// Fields to change.
        #[command(flatten)]
        edit: HouseholdEditArgs,
    },
}

/// Fields of a new household.
#[derive(Args, Debug)]
pub struct HouseholdFields {
    /// Full address (required).
    #[arg(long)]
    pub address: String,
    /// Representative (户主/联系人).
    #[arg(long, default_value = "")]
    pub representative: String,
    /// Contact phone.
    #[arg(long, default_value = "")]
    pub phone: String,
    /// Special-group tag (repeatable): code or zh label.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Community / compound.
    #[arg(long, default_value = "")]
    pub community: String,
    /// Building.
    #[arg(long, default_value = "")]
    pub building: String,
    /// Unit.
    #[arg(long, default_value = "")]
    pub unit: String,
    /// Room.
    #[arg(long, default_value = "")]
    pub room: String,
    /// Risk: red, yellow, blue or none.
    #[arg(long, default_value = "")]
    pub risk: String,
    /// Note.
    #[arg(long, default_value = "")]
    pub note: String,
}

/// Changes to a household.
#[derive(Args, Debug)]
pub struct HouseholdEditArgs {
    /// New phone.
    #[arg(long)]
    pub phone: Option<String>,
    /// New address.
    #[arg(long)]
    pub address: Option<String>,
    /// New representative.
    #[arg(long)]
    pub representative: Option<String>,
    /// Tag to add (repeatable).
    #[arg(long = "add-tag")]
    pub add_tags: Vec<String>,
    /// Tag to remove (repeatable).
    #[arg(long = "remove-tag")]
    pub remove_tags: Vec<String>,
    /// New community.
    #[arg(long)]
    pub community: Option<String>,
    /// New building.
    #[arg(long)]
    pub building: Option<String>,
    /// New unit.
    #[arg(long)]
    pub unit: Option<String>,
    /// New room.
    #[arg(long)]
    pub room: Option<String>,
    /// New risk level.
    #[arg(long)]
    pub risk: Option<String>,
    /// New status: active or moved_out.
    #[arg(long)]
    pub status: Option<String>,
    /// New note.
    #[arg(long)]
    pub note: Option<String>,
}

/// `resident …`
#[derive(Subcommand, Debug)]
pub enum ResidentCmd {
    /// Add a resident to a household; prints {"id": …}.
    Add {
        /// Household id.
        household: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// GB 11643 identity number.
        #[arg(long, default_value = "")]
        id_number: String,
        /// Birth date YYYY-MM-DD.
        #[arg(long, default_value = "")]
        birth: String,
        /// Phone.
        #[arg(long, default_value = "")]
        phone: String,
        /// Gender: male or female.
        #[arg(long, default_value = "")]
        gender: String,
        /// Relation to the representative.
        #[arg(long, default_value = "")]
        relation: String,
        /// Special-group tag (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// Edit a resident.
    Edit {
        /// Household id.
        household: String,
        /// Resident id.
        resident: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New identity number.
        #[arg(long)]
        id_number: Option<String>,
        /// New birth date.
        #[arg(long)]
        birth: Option<String>,
        /// New phone.
        #[arg(long)]
        phone: Option<String>,
        /// New relation.
        #[arg(long)]
        relation: Option<String>,
        /// Tag to add.
        #[arg(long = "add-tag")]
        add_tags: Vec<String>,
        /// Tag to remove.
        #[arg(long = "remove-tag")]
        remove_tags: Vec<String>,
        /// Mark as moved out.
        #[arg(long)]
        moved_out: Option<bool>,
    },
}

/// `visit …`
#[derive(Subcommand, Debug)]
pub enum VisitCmd {
    /// Record a visit; prints {"id": …}.
    Record {
        /// Household id.
        household: String,
        /// JSON file of checklist answers: {"item": "ok"} or {"item": {"outcome": "problem", "note": "…"}}, or a list of {item, outcome, note}.
        #[arg(long)]
        answers: Option<PathBuf>,
        /// Free note.
        #[arg(long, default_value = "")]
        note: String,
        /// Latitude.
        #[arg(long, requires = "lon", allow_negative_numbers = true)]
        lat: Option<f64>,
        /// Longitude.
        #[arg(long, requires = "lat", allow_negative_numbers = true)]
        lon: Option<f64>,
        /// Location accuracy in metres.
        #[arg(long)]
        accuracy: Option<f64>,
        /// A photo file (JPEG, PNG or WebP; repeatable): downscaled, stored
        /// encrypted on the phone, uploaded by `sync`.
        #[arg(long = "photo", value_name = "FILE")]
        photos: Vec<PathBuf>,
        /// Open a case of this category for what the visit found, in the
        /// same write (a follow-up case of the visit, about its household);
        /// prints it as "case".
        #[arg(long, value_name = "CATEGORY")]
        open_case: Option<String>,
        /// The opened case's description (default: the visit's note, or
        /// "走访发现：CATEGORY").
        #[arg(long, requires = "open_case")]
        case_description: Option<String>,
        /// The opened case's urgency: normal or urgent.
        #[arg(long, requires = "open_case", default_value = "normal")]
        case_urgency: String,
    },
    /// Make an existing case a follow-up case of a visit.
    Link {
        /// Visit id.
        visit: String,
        /// Case id.
        #[arg(long)]
        case: String,
    },
    /// List visits (newest first).
    List {
        /// Only this household.
        #[arg(long)]
        household: Option<String>,
    },
    /// Show one visit.
    Show {
        /// Visit id.
        id: String,
    },
}

/// `photo …`
#[derive(Subcommand, Debug)]
pub enum PhotoCmd {
    /// Add a photo or other file to the phone without a record yet; prints
    /// the attachment ({"id", "mime", "size", …}). Its id can then go into a
    /// form's photo field.
    Add {
        /// The file.
        file: PathBuf,
        /// Keep the photo's GPS position (EXIF).
        #[arg(long)]
        keep_location: bool,
    },
    /// Write a photo's bytes to a file: from the phone, or fetched from the
    /// server (with --server) when only a thumbnail or nothing is here.
    Show {
        /// Photo id (SHA-256).
        id: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        /// Write the thumbnail instead.
        #[arg(long)]
        thumbnail: bool,
        /// Server to fetch from when the photo is not on the phone.
        #[arg(long, requires = "token_env")]
        server: Option<String>,
        /// Name of the environment variable that holds the device token.
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
        /// Allow plain http:// to a server that is not on this machine.
        #[arg(long)]
        allow_insecure: bool,
    },
    /// The photos waiting for upload: {"pending", "pending_bytes"}.
    Queue,
}

/// `hazard …`
#[derive(Subcommand, Debug)]
pub enum HazardCmd {
    /// Report a hazard.
    Report {
        /// Category (消防安全, 燃气安全, …).
        #[arg(long)]
        category: String,
        /// What is wrong.
        #[arg(long)]
        description: String,
        /// low, medium or high.
        #[arg(long, default_value = "low")]
        severity: String,
        /// Related household id.
        #[arg(long)]
        household: Option<String>,
        /// Place description.
        #[arg(long, default_value = "")]
        place: String,
        /// Rectification deadline YYYY-MM-DD (end of that local day).
        #[arg(long)]
        deadline: Option<String>,
        /// Latitude.
        #[arg(long, requires = "lon", allow_negative_numbers = true)]
        lat: Option<f64>,
        /// Longitude.
        #[arg(long, requires = "lat", allow_negative_numbers = true)]
        lon: Option<f64>,
        /// A "before" photo file (repeatable); "after" photos go with the
        /// `transition --to rectified`.
        #[arg(long = "photo", value_name = "FILE")]
        photos: Vec<PathBuf>,
        /// Keep the photos' GPS position (EXIF), which is dropped otherwise.
        #[arg(long)]
        keep_photo_location: bool,
    },
    /// Move a hazard to a new state.
    Transition {
        /// Hazard id.
        id: String,
        /// reported, rectifying, rectified or closed.
        #[arg(long)]
        to: String,
        /// Note.
        #[arg(long, default_value = "")]
        note: String,
        /// A photo of this step (repeatable): the rectification's "after".
        #[arg(long = "photo", value_name = "FILE")]
        photos: Vec<PathBuf>,
    },
    /// Edit a hazard's description, severity, place or deadline.
    Edit {
        /// Hazard id.
        id: String,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// New severity.
        #[arg(long)]
        severity: Option<String>,
        /// New place.
        #[arg(long)]
        place: Option<String>,
        /// New deadline YYYY-MM-DD.
        #[arg(long)]
        deadline: Option<String>,
    },
    /// List hazards.
    List {
        /// Only open ones.
        #[arg(long)]
        open: bool,
    },
    /// Show one hazard.
    Show {
        /// Hazard id.
        id: String,
    },
}

/// `case …`
#[derive(Subcommand, Debug)]
pub enum CaseCmd {
    /// Open a case (the 30-minute first-response clock starts).
    Open {
        /// Category (环境卫生, 邻里纠纷, …).
        #[arg(long)]
        category: String,
        /// What was asked.
        #[arg(long)]
        description: String,
        /// visit, phone, wechat or walk_in.
        #[arg(long, default_value = "visit")]
        channel: String,
        /// normal or urgent.
        #[arg(long, default_value = "normal")]
        urgency: String,
        /// Related household id.
        #[arg(long)]
        household: Option<String>,
        /// Related resident id.
        #[arg(long)]
        resident: Option<String>,
        /// The visit that found it: the case becomes one of its follow-up
        /// cases and is about its household.
        #[arg(long, value_name = "VISIT")]
        visit: Option<String>,
        /// A photo of the request (JPEG, PNG or WebP; repeatable):
        /// downscaled, stored encrypted on the phone, uploaded by `sync`.
        #[arg(long = "photo", value_name = "FILE")]
        photos: Vec<PathBuf>,
    },
    /// Move a case to a new state.
    Transition {
        /// Case id.
        id: String,
        /// registered, escalated, dispatched, handling, feedback, verified or closed.
        #[arg(long)]
        to: String,
        /// Note.
        #[arg(long, default_value = "")]
        note: String,
        /// A photo of this step (repeatable).
        #[arg(long = "photo", value_name = "FILE")]
        photos: Vec<PathBuf>,
    },
    /// Edit a case's description, category or urgency.
    Edit {
        /// Case id.
        id: String,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// New category.
        #[arg(long)]
        category: Option<String>,
        /// New urgency.
        #[arg(long)]
        urgency: Option<String>,
    },
    /// List cases (with their response and handling timers).
    List {
        /// Only open ones.
        #[arg(long)]
        open: bool,
        /// Only open cases past a deadline (no first response within the
        /// target, or not handled in time), unanswered first.
        #[arg(long)]
        overdue: bool,
    },
    /// Show one case.
    Show {
        /// Case id.
        id: String,
    },
}

/// `form …`
#[derive(Subcommand, Debug)]
pub enum FormCmd {
    /// List the available template versions (built-in and published);
    /// `newest` marks the one used for new records.
    Templates,
    /// Show one template (JSON format of docs/forms.md).
    Show {
        /// Template id.
        id: String,
        /// Version (default: newest).
        #[arg(long)]
        version: Option<u32>,
    },
    /// Fill a form; prints the record.
    Fill {
        /// Template id.
        template: String,
        /// Household id, or a free subject text.
        #[arg(long)]
        subject: String,
        /// JSON file with answers by field id.
        #[arg(long)]
        answers: PathBuf,
    },
    /// List filled records.
    List {
        /// Only this template.
        #[arg(long)]
        template: Option<String>,
    },
    /// Convert and check an XLSForm (.xlsx): prints {"template", "skipped"}.
    /// Staff publish the result with `gridwork-server admin template publish`.
    Import {
        /// The XLSForm workbook.
        file: PathBuf,
        /// Also write the template JSON to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Skip unsupported rows (they are listed) instead of failing.
        #[arg(long)]
        allow_unsupported: bool,
        /// Category (visit_checklist, duty, hazard); overrides the settings sheet.
        #[arg(long)]
        category: Option<String>,
    },
}

/// `worklog …`
#[derive(Subcommand, Debug)]
pub enum WorklogCmd {
    /// Set one day's priorities and notes.
    Set {
        /// Local date YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// A priority (repeatable).
        #[arg(long = "priority")]
        priorities: Vec<String>,
        /// Notes.
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Show a month's log.
    Show {
        /// Month YYYY-MM (default: this month).
        #[arg(long)]
        month: Option<String>,
    },
}

/// `import …`
#[derive(Subcommand, Debug)]
pub enum ImportCmd {
    /// Import a household register (.xlsx or .csv with the columns of
    /// `export households`): all rows or none. Prints the report; when any
    /// row is invalid nothing is stored, the report lists every bad row and
    /// the command exits 1.
    Register {
        /// The register file.
        file: PathBuf,
        /// xlsx or csv (default: the file's extension).
        #[arg(long, value_parser = ["xlsx", "csv"])]
        format: Option<String>,
    },
}

/// `conflicts …`
#[derive(Subcommand, Debug)]
pub enum ConflictCmd {
    /// List conflicts (the default).
    List,
    /// Resolve a conflict by choosing one of its values (of a household's,
    /// a resident's, a hazard's or a case's field).
    #[command(group(clap::ArgGroup::new("record").required(true).args(["household", "hazard", "case"])))]
    Resolve {
        /// Household id (with --resident for a resident's field).
        #[arg(long)]
        household: Option<String>,
        /// Hazard id.
        #[arg(long, conflicts_with = "resident")]
        hazard: Option<String>,
        /// Case id.
        #[arg(long, conflicts_with = "resident")]
        case: Option<String>,
        /// Resident id, for a resident's field.
        #[arg(long)]
        resident: Option<String>,
        /// Field name.
        #[arg(long)]
        field: String,
        /// The chosen value (one of the listed values).
        #[arg(long)]
        value: String,
    },
}

/// `--within`: `N`, `Nm`, `Nh` or `Nd` as minutes, at most a week.
fn parse_within(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 'm'),
    };
    let minutes_per = match unit {
        'm' => 1,
        'h' => 60,
        'd' => 24 * 60,
        _ => return Err("use minutes (30 or 30m), hours (2h) or days (1d)".into()),
    };
    let number: u32 = number
        .trim()
        .parse()
        .map_err(|_| "use minutes (30 or 30m), hours (2h) or days (1d)".to_string())?;
    let minutes = number.saturating_mul(minutes_per);
    if minutes > gridwork_core::api::MAX_WITHIN_MINUTES {
        return Err("at most a week (7d)".into());
    }
    Ok(minutes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn within_reads_minutes_hours_and_days() {
        assert_eq!(super::parse_within("30"), Ok(30));
        assert_eq!(super::parse_within("30m"), Ok(30));
        assert_eq!(super::parse_within("2h"), Ok(120));
        assert_eq!(super::parse_within("1D"), Ok(1440));
        assert_eq!(super::parse_within("7d"), Ok(7 * 1440));
        assert!(super::parse_within("8d").is_err());
        assert!(super::parse_within("soon").is_err());
        assert!(super::parse_within("-5m").is_err());
        assert!(super::parse_within("3w").is_err());
    }
}
