//! `gridwork`: a desktop client that drives the Gridwork core exactly as a
//! phone does. Every command prints JSON on stdout. A user error (bad input,
//! unknown id, wrong key, …) exits 1 with one line on stderr, control
//! characters escaped; a usage error exits 2 (clap). Stdout closed early by
//! its reader ends a command quietly with exit 0 ([`output`]). The database
//! key is only ever read from the environment variable named by `--key-env`.

mod args;
mod input;
mod output;
mod sync_cmd;

use args::*;
use clap::Parser;
use gridwork_core::exchange::{ExportFormat, ExportKind};
use gridwork_core::model::*;
use gridwork_core::{DbKey, Error, ManualClock, Store, StoreOptions};
use serde::Serialize;
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;

/// A failure of one command: the message printed on stderr (never personal data).
struct Failure(String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure(e.to_string())
    }
}

type Outcome = Result<serde_json::Value, Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(value) => output::result(&value),
        Err(Failure(message)) => {
            output::error(&message);
            ExitCode::from(1)
        }
    }
}

fn to_json(value: impl Serialize) -> Outcome {
    serde_json::to_value(value).map_err(|e| Failure(e.to_string()))
}

/// Open the store. Only `create` (`init`, `demo`) may create a missing
/// file: any other command on a path that holds no store fails, instead of
/// leaving an empty store behind (a typo in `--store` would otherwise look
/// like an empty grid).
fn open(cli: &Cli, create: bool) -> Result<Store, Failure> {
    let key = match &cli.key_env {
        None => None,
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Some(DbKey::Passphrase(v)),
            _ => {
                return Err(Failure(format!(
                    "key: 环境变量 {var} 未设置 / environment variable {var} is not set"
                )))
            }
        },
    };
    let clock = match &cli.now {
        None => None,
        Some(text) => {
            let at: jiff::Timestamp = text
                .parse()
                .map_err(|_| Failure("now: 不是 RFC 3339 时间 / not an RFC 3339 instant".into()))?;
            Some(Arc::new(ManualClock::new(Timestamp::from_jiff(at)))
                as Arc<dyn gridwork_core::Clock>)
        }
    };
    if !create && !cli.store.exists() {
        return Err(Failure(format!(
            "store: {}: 此路径没有数据库，请先运行 init / no store at this path; run init first",
            cli.store.display()
        )));
    }
    Ok(Store::open_with(
        &cli.store,
        StoreOptions {
            key,
            clock,
            timezone: cli.timezone.clone(),
        },
    )?)
}

fn run(cli: Cli) -> Outcome {
    // Converting an XLSForm needs no store.
    if let Command::Form(FormCmd::Import {
        file,
        out,
        allow_unsupported,
        category,
    }) = &cli.command
    {
        return import_form(
            file,
            out.as_deref(),
            *allow_unsupported,
            category.as_deref(),
        );
    }
    let create = matches!(cli.command, Command::Init { .. } | Command::Demo { .. });
    let store = open(&cli, create)?;
    match cli.command {
        Command::Init {
            worker_id,
            worker_name,
            grid,
            force: false,
            ..
        } => to_json(store.init(&worker_id, &worker_name, &grid)?),
        Command::Init {
            worker_id,
            worker_name,
            grid,
            force: true,
            discard_unsynced: false,
        } => to_json(store.reinit(&worker_id, &worker_name, &grid)?),
        Command::Init {
            worker_id,
            worker_name,
            grid,
            force: true,
            discard_unsynced: true,
        } => to_json(store.reinit_discarding_unsynced(&worker_id, &worker_name, &grid)?),
        Command::Household(cmd) => household(&store, cmd),
        Command::Resident(cmd) => resident(&store, cmd),
        Command::Visit(cmd) => visit(&store, cmd),
        Command::Hazard(cmd) => hazard(&store, cmd),
        Command::Case(cmd) => case(&store, cmd),
        Command::Form(cmd) => form(&store, cmd),
        Command::Worklog(cmd) => worklog(&store, cmd),
        Command::Due => to_json(store.due_visits()?),
        Command::Conflicts { action } => match action.unwrap_or(ConflictCmd::List) {
            ConflictCmd::List => to_json(store.conflicts()?),
            ConflictCmd::Resolve {
                household,
                hazard,
                case,
                resident,
                field,
                value,
            } => {
                if let Some(id) = hazard {
                    store.resolve_record_conflict("hazard", &id, &field, &value)?;
                    return to_json(store.hazard(HazardId::parse_field(&id, "hazard")?)?);
                }
                if let Some(id) = case {
                    store.resolve_record_conflict("case", &id, &field, &value)?;
                    return to_json(store.case(CaseId::parse_field(&id, "case")?)?);
                }
                let household = HouseholdId::parse_field(
                    household.as_deref().unwrap_or_default(),
                    "household",
                )?;
                let resident = resident
                    .map(|r| ResidentId::parse_field(&r, "resident"))
                    .transpose()?;
                to_json(store.resolve_conflict(household, resident, &field, &value)?)
            }
        },
        Command::Report => to_json(store.report()?),
        Command::Reminders { within } => to_json(store.reminders(within)?),
        Command::Sync {
            server,
            token_env,
            allow_insecure,
            photos,
            no_photos,
            photo_budget_mib,
            watch,
        } => {
            let token = token_from(&token_env)?;
            let run = sync_cmd::SyncRun {
                server: &server,
                token: &token,
                allow_insecure,
                photos,
                no_photos,
                photo_budget_mib,
            };
            if watch {
                sync_cmd::watch(&store, &run)
            } else {
                sync_cmd::sync_once(&store, &run)
            }
        }
        Command::Photo(cmd) => photo(&store, cmd),
        Command::Demo {
            households,
            years,
            seed,
            progress,
            force,
        } => {
            // A fresh store gets a demo gridworker so that one command is
            // enough; a real store is refused (its sync would spread the
            // fabricated records).
            gridwork_core::demo::prepare_store(&store, force)?;
            let options = gridwork_core::demo::DemoOptions {
                households,
                years,
                seed,
            };
            let summary = gridwork_core::demo::generate(&store, options, |done, total| {
                if progress {
                    output::note(
                        &json!({"households_committed": done, "total": total}).to_string(),
                    );
                }
            })?;
            to_json(summary)
        }
        Command::Check => {
            let report = store.check()?;
            if report.ok {
                to_json(report)
            } else {
                // The report goes out even if the reader stops early.
                let _ = output::json(&serde_json::to_value(&report).unwrap_or_default());
                Err(Failure(format!(
                    "check: 读模型与文档不一致 / read models differ from a rebuild in: {}",
                    report.differences.join(", ")
                )))
            }
        }
        Command::Export { kind, format, out } => export(&store, &kind, format.as_deref(), &out),
        Command::Import(ImportCmd::Register { file, format }) => {
            import_register(&store, &file, format.as_deref())
        }
        Command::Docs {
            quarantined,
            read_only,
        } => {
            if quarantined {
                to_json(store.quarantined_docs()?)
            } else if read_only {
                to_json(
                    store
                        .doc_heads()?
                        .into_iter()
                        .filter(|d| d.read_only)
                        .collect::<Vec<_>>(),
                )
            } else {
                to_json(store.doc_heads()?)
            }
        }
        Command::Rebuild => to_json(json!({"documents": store.rebuild()?})),
    }
}

fn household(store: &Store, cmd: HouseholdCmd) -> Outcome {
    match cmd {
        HouseholdCmd::Add(f) => {
            let h = store.add_household(NewHousehold {
                community: f.community,
                building: f.building,
                unit: f.unit,
                room: f.room,
                address: f.address,
                representative: f.representative,
                phone: f.phone,
                tags: f.tags,
                risk: f.risk,
                note: f.note,
            })?;
            Ok(json!({ "id": h.id }))
        }
        HouseholdCmd::List { search, tag } => {
            if search.is_none() && tag.is_none() {
                to_json(store.list_households()?)
            } else {
                to_json(store.search_households(&gridwork_core::HouseholdQuery {
                    text: search.unwrap_or_default(),
                    tag,
                })?)
            }
        }
        HouseholdCmd::Show { id } => {
            to_json(store.household(HouseholdId::parse_field(&id, "id")?)?)
        }
        HouseholdCmd::Edit { id, edit } => {
            let id = HouseholdId::parse_field(&id, "id")?;
            to_json(store.edit_household(
                id,
                HouseholdEdit {
                    community: edit.community,
                    building: edit.building,
                    unit: edit.unit,
                    room: edit.room,
                    address: edit.address,
                    representative: edit.representative,
                    phone: edit.phone,
                    add_tags: edit.add_tags,
                    remove_tags: edit.remove_tags,
                    risk: edit.risk,
                    status: edit.status,
                    note: edit.note,
                },
            )?)
        }
    }
}

fn resident(store: &Store, cmd: ResidentCmd) -> Outcome {
    match cmd {
        ResidentCmd::Add {
            household,
            name,
            id_number,
            birth,
            phone,
            gender,
            relation,
            tags,
        } => {
            let household = HouseholdId::parse_field(&household, "household")?;
            let r = store.add_resident(
                household,
                NewResident {
                    name,
                    gender,
                    birth_date: birth,
                    id_number,
                    phone,
                    relation,
                    tags,
                },
            )?;
            Ok(json!({ "id": r.id }))
        }
        ResidentCmd::Edit {
            household,
            resident,
            name,
            id_number,
            birth,
            phone,
            relation,
            add_tags,
            remove_tags,
            moved_out,
        } => {
            let household = HouseholdId::parse_field(&household, "household")?;
            let resident = ResidentId::parse_field(&resident, "resident")?;
            to_json(store.edit_resident(
                household,
                resident,
                ResidentEdit {
                    name,
                    gender: None,
                    birth_date: birth,
                    id_number,
                    phone,
                    relation,
                    add_tags,
                    remove_tags,
                    moved_out,
                },
            )?)
        }
    }
}

/// The device token from environment variable `name`.
fn token_from(name: &str) -> Result<String, Failure> {
    match std::env::var(name) {
        Ok(t) if !t.is_empty() => Ok(t),
        _ => Err(Failure(format!(
            "token: 环境变量 {name} 未设置 / environment variable {name} is not set"
        ))),
    }
}

/// Attach each photo file; their ids, in order.
fn attach_all(
    store: &Store,
    files: &[std::path::PathBuf],
    keep_location: bool,
) -> Result<Vec<String>, Failure> {
    files
        .iter()
        .map(|file| Ok(attach_one(store, file, keep_location)?.id))
        .collect()
}

fn attach_one(
    store: &Store,
    file: &std::path::Path,
    keep_location: bool,
) -> Result<gridwork_core::api::Attachment, Failure> {
    let bytes = std::fs::read(file).map_err(|e| {
        Failure(format!(
            "photo: 无法读取文件 / cannot read the file: {}",
            e.kind()
        ))
    })?;
    if gridwork_core::media::is_image(&bytes) {
        let options = gridwork_core::media::PhotoOptions {
            keep_location,
            ..Default::default()
        };
        Ok(store.attach_photo(&bytes, &options)?)
    } else {
        Ok(store.attach_bytes(&bytes, "application/octet-stream")?)
    }
}

fn photo(store: &Store, cmd: PhotoCmd) -> Outcome {
    match cmd {
        PhotoCmd::Add {
            file,
            keep_location,
        } => to_json(attach_one(store, &file, keep_location)?),
        PhotoCmd::Show {
            id,
            out,
            thumbnail,
            server,
            token_env,
            allow_insecure,
        } => {
            let id = id.trim().to_ascii_lowercase();
            let bytes = if thumbnail {
                store.attachment_thumbnail(&id)?
            } else {
                match (store.attachment_bytes(&id)?, server) {
                    (Some(bytes), _) => Some(bytes),
                    (None, Some(server)) => {
                        let token = token_from(token_env.as_deref().unwrap_or_default())?;
                        gridwork_core::sync::transport::check_server_url(&server, allow_insecure)?;
                        let transport = gridwork_core::sync::HttpTransport::new()?;
                        Some(store.fetch_photo_with(
                            &transport,
                            &server,
                            &token,
                            &id,
                            &Default::default(),
                        )?)
                    }
                    (None, None) => None,
                }
            };
            let Some(bytes) = bytes else {
                return Err(Failure(
                    "photo: 本机没有此照片（可加 --server 从服务器获取）/ the photo is not on this phone (add --server to fetch it)".into(),
                ));
            };
            std::fs::write(&out, &bytes).map_err(|e| {
                Failure(format!(
                    "out: 无法写入文件 / cannot write the file: {}",
                    e.kind()
                ))
            })?;
            Ok(json!({ "id": id, "bytes": bytes.len(), "out": out }))
        }
        PhotoCmd::Queue => to_json(store.upload_queue()?),
    }
}

fn visit(store: &Store, cmd: VisitCmd) -> Outcome {
    match cmd {
        VisitCmd::Record {
            household,
            answers,
            note,
            lat,
            lon,
            accuracy,
            photos,
            open_case,
            case_description,
            case_urgency,
        } => {
            let household = HouseholdId::parse_field(&household, "household")?;
            let answers = match answers {
                Some(path) => input::checklist_answers(&path)?,
                None => vec![],
            };
            let photos = attach_all(store, &photos, false)?;
            let visit = NewVisit {
                household,
                started_at: None,
                ended_at: None,
                location: lat.zip(lon).map(|(lat, lon)| Location {
                    lat,
                    lon,
                    accuracy_m: accuracy,
                }),
                answers,
                note,
                follow_up_cases: vec![],
                photos,
            };
            match open_case {
                None => {
                    let v = store.record_visit(visit)?;
                    Ok(json!({ "id": v.id }))
                }
                Some(category) => {
                    let description = case_description.unwrap_or_else(|| {
                        if visit.note.trim().is_empty() {
                            format!("走访发现：{}", category.trim())
                        } else {
                            visit.note.clone()
                        }
                    });
                    let (v, case) = store.record_visit_with_case(
                        visit,
                        NewCase {
                            category,
                            description,
                            urgency: case_urgency,
                            ..NewCase::default()
                        },
                    )?;
                    Ok(json!({ "id": v.id, "follow_up_cases": v.follow_up_cases, "case": case }))
                }
            }
        }
        VisitCmd::Link { visit, case } => to_json(store.link_case_to_visit(
            CaseId::parse_field(&case, "case")?,
            VisitId::parse_field(&visit, "visit")?,
        )?),
        VisitCmd::List { household } => {
            let household = household
                .map(|h| HouseholdId::parse_field(&h, "household"))
                .transpose()?;
            to_json(store.list_visits(household)?)
        }
        VisitCmd::Show { id } => to_json(store.visit(VisitId::parse_field(&id, "id")?)?),
    }
}

fn hazard(store: &Store, cmd: HazardCmd) -> Outcome {
    match cmd {
        HazardCmd::Report {
            category,
            description,
            severity,
            household,
            place,
            deadline,
            lat,
            lon,
            photos,
            keep_photo_location,
        } => {
            let household = household
                .map(|h| HouseholdId::parse_field(&h, "household"))
                .transpose()?;
            let photos = attach_all(store, &photos, keep_photo_location)?;
            let deadline = deadline
                .map(|d| input::end_of_local_day(store, &d))
                .transpose()?;
            to_json(store.report_hazard(NewHazard {
                category,
                severity,
                location: lat.zip(lon).map(|(lat, lon)| Location {
                    lat,
                    lon,
                    accuracy_m: None,
                }),
                place,
                description,
                household,
                deadline,
                photos,
            })?)
        }
        HazardCmd::Transition {
            id,
            to,
            note,
            photos,
        } => {
            let id = HazardId::parse_field(&id, "id")?;
            let photos = attach_all(store, &photos, false)?;
            to_json(store.transition_hazard_with_photos(id, &to, &note, &photos)?)
        }
        HazardCmd::Edit {
            id,
            description,
            severity,
            place,
            deadline,
        } => {
            let deadline = deadline
                .map(|d| input::end_of_local_day(store, &d))
                .transpose()?;
            let edit = gridwork_core::api::HazardEdit {
                description,
                severity,
                deadline,
                place,
            };
            to_json(store.edit_hazard(HazardId::parse_field(&id, "id")?, edit)?)
        }
        HazardCmd::List { open } => to_json(store.list_hazards(open)?),
        HazardCmd::Show { id } => to_json(store.hazard(HazardId::parse_field(&id, "id")?)?),
    }
}

fn case(store: &Store, cmd: CaseCmd) -> Outcome {
    match cmd {
        CaseCmd::Open {
            category,
            description,
            channel,
            urgency,
            household,
            resident,
            visit,
            photos,
        } => {
            let household = household
                .map(|h| HouseholdId::parse_field(&h, "household"))
                .transpose()?;
            let resident = resident
                .map(|r| ResidentId::parse_field(&r, "resident"))
                .transpose()?;
            let case = NewCase {
                channel,
                category,
                description,
                urgency,
                household,
                resident,
                opened_at: None,
                photos: attach_all(store, &photos, false)?,
            };
            match visit {
                None => to_json(store.open_case(case)?),
                Some(visit) => to_json(
                    store.open_case_for_visit(VisitId::parse_field(&visit, "visit")?, case)?,
                ),
            }
        }
        CaseCmd::Transition {
            id,
            to,
            note,
            photos,
        } => {
            let id = CaseId::parse_field(&id, "id")?;
            let photos = attach_all(store, &photos, false)?;
            to_json(store.transition_case_with_photos(id, &to, &note, &photos)?)
        }
        CaseCmd::Edit {
            id,
            description,
            category,
            urgency,
        } => {
            let edit = gridwork_core::api::CaseEdit {
                description,
                category,
                urgency,
            };
            to_json(store.edit_case(CaseId::parse_field(&id, "id")?, edit)?)
        }
        CaseCmd::List { overdue: true, .. } => to_json(store.overdue_cases()?),
        CaseCmd::List { open, .. } => to_json(store.list_cases(open)?),
        CaseCmd::Show { id } => to_json(store.case(CaseId::parse_field(&id, "id")?)?),
    }
}

fn form(store: &Store, cmd: FormCmd) -> Outcome {
    match cmd {
        FormCmd::Templates => to_json(store.templates()?),
        FormCmd::Show { id, version } => to_json(store.template(&id, version)?),
        FormCmd::Fill {
            template,
            subject,
            answers,
        } => {
            let mut answers = input::form_answers(&answers)?;
            // A photo field may name a file: it is attached and its id
            // recorded.
            let form = store.template(&template, None)?;
            for field in &form.fields {
                if field.field_type != gridwork_core::forms::FieldType::Photo {
                    continue;
                }
                if let Some(serde_json::Value::String(value)) = answers.get(&field.id) {
                    if !attachment::is_blob_id(value) && std::path::Path::new(value).is_file() {
                        let id = attach_one(store, std::path::Path::new(value), false)?.id;
                        answers.insert(field.id.clone(), serde_json::Value::String(id));
                    }
                }
            }
            let (household, subject) = match HouseholdId::parse_field(&subject, "subject") {
                Ok(h) => (Some(h), String::new()),
                Err(_) => (None, subject),
            };
            to_json(store.fill_form(&template, household, &subject, answers)?)
        }
        FormCmd::List { template } => to_json(store.list_form_records(template.as_deref())?),
        FormCmd::Import { .. } => unreachable!("handled before opening the store"),
    }
}

fn import_form(
    file: &std::path::Path,
    out: Option<&std::path::Path>,
    allow_unsupported: bool,
    category: Option<&str>,
) -> Outcome {
    use gridwork_core::forms::{xlsform, TemplateCategory};
    let options = xlsform::ImportOptions {
        allow_unsupported,
        category: category.map(TemplateCategory::parse).transpose()?,
    };
    let import = xlsform::import_xlsx_file(file, &options)?;
    if let Some(out) = out {
        let text = serde_json::to_string_pretty(&import.template).unwrap_or_default();
        std::fs::write(out, text + "\n").map_err(Error::from)?;
    }
    to_json(import)
}

/// `--format`, else the file's extension.
fn file_format(format: Option<&str>, path: &std::path::Path) -> Result<ExportFormat, Failure> {
    match format {
        Some(f) => Ok(ExportFormat::parse(f)?),
        None => ExportFormat::from_path(path).ok_or_else(|| {
            Failure(
                "format: 无法从文件扩展名判断格式，请使用 --format xlsx|csv / cannot tell the format from the file extension: use --format xlsx|csv"
                    .into(),
            )
        }),
    }
}

fn export(store: &Store, kind: &str, format: Option<&str>, out: &std::path::Path) -> Outcome {
    let kind = ExportKind::parse(kind)?;
    let format = file_format(format, out)?;
    let table = store.export_table(kind)?;
    let bytes = table.to_bytes(format)?;
    std::fs::write(out, &bytes).map_err(Error::from)?;
    Ok(json!({
        "kind": kind.code(),
        "format": format.code(),
        "rows": table.rows.len(),
        "bytes": bytes.len(),
        "out": out.display().to_string(),
    }))
}

fn import_register(store: &Store, file: &std::path::Path, format: Option<&str>) -> Outcome {
    let format = file_format(format, file)?;
    // Refused unread beyond the spreadsheet size limit.
    let bytes = gridwork_core::spreadsheet::read_file(file, "register")?;
    let report = store.import_register(&bytes, format)?;
    if report.errors.is_empty() {
        to_json(report)
    } else {
        // The report (every bad row) on stdout, one line on stderr, exit 1.
        let _ = output::json(&serde_json::to_value(&report).unwrap_or_default());
        Err(Failure(report.errors_line()))
    }
}

fn worklog(store: &Store, cmd: WorklogCmd) -> Outcome {
    match cmd {
        WorklogCmd::Set {
            date,
            priorities,
            notes,
        } => to_json(store.set_work_log_day(&date, priorities, &notes)?),
        WorklogCmd::Show { month } => {
            let month = month.unwrap_or_else(|| {
                let today = gridwork_core::schedule::local_date(store.now(), store.timezone());
                format!("{:04}-{:02}", today.year(), today.month())
            });
            to_json(store.work_log(&month)?)
        }
    }
}
