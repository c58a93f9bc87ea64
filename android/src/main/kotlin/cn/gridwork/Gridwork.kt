// The idiomatic Kotlin face of the Gridwork core for Android apps.
//
// The generated bindings (package `cn.gridwork.core`, made by UniFFI from the Rust crate
// `gridwork-ffi`) are complete but awkward from coroutines: every store call blocks on
// SQLite, sync wants a listener object and a cancel handle, and input records have no
// default values. This file only adapts them: no domain logic, no validation of its own
// (the core validates everything and reports `ApiException`s, which pass through as they
// are). It is plain Kotlin with no `android.*` import, so the desktop JVM tests in
// `android/jvm-test` compile and run it as it ships.

package cn.gridwork

import cn.gridwork.core.ApiException
import cn.gridwork.core.Case
import cn.gridwork.core.CaseEdit
import cn.gridwork.core.CaseId
import cn.gridwork.core.CheckReport
import cn.gridwork.core.ChecklistAnswer
import cn.gridwork.core.Conflict
import cn.gridwork.core.Device
import cn.gridwork.core.DueEntry
import cn.gridwork.core.Figures
import cn.gridwork.core.FormRecordInfo
import cn.gridwork.core.GridworkStore
import cn.gridwork.core.Attachment
import cn.gridwork.core.Hazard
import cn.gridwork.core.HazardEdit
import cn.gridwork.core.HazardId
import cn.gridwork.core.Household
import cn.gridwork.core.HouseholdEdit
import cn.gridwork.core.HouseholdId
import cn.gridwork.core.HouseholdSummary
import cn.gridwork.core.Location
import cn.gridwork.core.NewCase
import cn.gridwork.core.NewHazard
import cn.gridwork.core.NewHousehold
import cn.gridwork.core.NewResident
import cn.gridwork.core.NewVisit
import cn.gridwork.core.OpenOptions
import cn.gridwork.core.Outcome
import cn.gridwork.core.QuarantinedDoc
import cn.gridwork.core.Resident
import cn.gridwork.core.ResidentId
import cn.gridwork.core.StoreKey
import cn.gridwork.core.SyncCancel
import cn.gridwork.core.SyncListener
import cn.gridwork.core.SyncProgress
import cn.gridwork.core.PhotoSyncSummary
import cn.gridwork.core.SyncSummary
import cn.gridwork.core.TrimReport
import cn.gridwork.core.UploadQueue
import cn.gridwork.core.TemplateInfo
import cn.gridwork.core.Timestamp
import cn.gridwork.core.Visit
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withContext
import kotlin.coroutines.resume

/**
 * A gridworker's offline store (households, visits, hazards, cases, forms) and its sync
 * with the office's server, for coroutines.
 *
 * Every call is `suspend` and runs the blocking core call on [dispatcher]
 * ([Dispatchers.IO] by default), so it is safe to call from the main thread. Failures are
 * the core's typed exceptions, unchanged: [ApiException.Validation] (with the input
 * `field`), [ApiException.InvalidForm] (with per-field errors), [ApiException.NotFound],
 * [ApiException.WrongKey], [ApiException.Auth], [ApiException.Network], … .
 *
 * Open one instance per database file with [Gridwork.open], share it (it is thread-safe)
 * and [close] it when the app no longer needs it.
 *
 * @property store The generated store object, for anything this facade does not cover.
 */
class Gridwork private constructor(
    val store: GridworkStore,
    private val dispatcher: CoroutineDispatcher,
) : AutoCloseable {

    /** Opening a store. */
    companion object {
        /**
         * Open (or create) the store at [path].
         *
         * @param key The SQLCipher key, e.g. `StoreKey.raw(bytesFromKeystore)`; `null`
         *   opens a plain, unencrypted database (tests and demos only), so it has no default.
         * @param timezone IANA zone of local days and months; `null` = `Asia/Shanghai`.
         * @param dispatcher Where the blocking core calls run.
         * @throws ApiException.WrongKey when the key does not open an existing file.
         * @throws ApiException.Validation on field `key` when a raw key is not 32 bytes.
         */
        suspend fun open(
            path: String,
            key: StoreKey?,
            timezone: String? = null,
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
        ): Gridwork = withContext(dispatcher) {
            Gridwork(GridworkStore.open(path, OpenOptions(key, timezone)), dispatcher)
        }
    }

    private suspend fun <T> io(block: (GridworkStore) -> T): T =
        withContext(dispatcher) { block(store) }

    /**
     * Set the phone's owner and grid; allowed once per store.
     *
     * @throws ApiException.Conflict when the store already has an owner (see [reinit]).
     */
    suspend fun init(workerId: String, workerName: String, grid: String): Device =
        io { it.init(workerId, workerName, grid) }

    /**
     * Start the store over for another owner and grid: for a phone initialised with the
     * wrong grid or worker (its sync fails with [ApiException.WrongAccount]) or handed to
     * someone else. Removes every record and the sync state of this store and sets the new
     * owner; the new grid's records arrive with the next sync.
     *
     * @throws ApiException.Conflict while any change is not yet synced; nothing changes
     *   then (sync first, or see [reinitDiscardingUnsynced]).
     */
    suspend fun reinit(workerId: String, workerName: String, grid: String): Device =
        io { it.reinit(workerId, workerName, grid) }

    /**
     * [reinit] even though changes are not yet synced: the deliberate way out for a phone
     * whose sync is refused ([ApiException.WrongAccount]) and that holds work recorded
     * before its first sync. That work is **removed** and cannot be recovered: ask the user
     * to confirm first.
     */
    suspend fun reinitDiscardingUnsynced(workerId: String, workerName: String, grid: String): Device =
        io { it.reinitDiscardingUnsynced(workerId, workerName, grid) }

    /** The phone's owner; [ApiException.NotInitialized] before [init]. */
    suspend fun device(): Device = io { it.device() }

    /** Register a household (see [newHousehold] for an input with defaults). */
    suspend fun addHousehold(input: NewHousehold): Household = io { it.addHousehold(input) }

    /** Change a household's fields and tags (see [householdEdit]). */
    suspend fun editHousehold(id: HouseholdId, edit: HouseholdEdit): Household =
        io { it.editHousehold(id, edit) }

    /** One household with its residents. */
    suspend fun household(id: HouseholdId): Household = io { it.household(id) }

    /** Every household with its next due visit. */
    suspend fun listHouseholds(): List<HouseholdSummary> = io { it.listHouseholds() }

    /**
     * Households whose address, representative or a resident's name contains [text],
     * and/or that have [tag] (code such as `elderly_alone`, or the Chinese label).
     */
    suspend fun searchHouseholds(text: String = "", tag: String? = null): List<HouseholdSummary> =
        io { it.searchHouseholds(text, tag) }

    /** Add a resident to [household] (see [newResident]). */
    suspend fun addResident(household: HouseholdId, input: NewResident): Resident =
        io { it.addResident(household, input) }

    /** Households due or overdue a visit, most urgent first. */
    suspend fun dueVisits(): List<DueEntry> = io { it.dueVisits() }

    /** Record a door-to-door visit (see [newVisit] and [checklistAnswer]). */
    suspend fun recordVisit(input: NewVisit): Visit = io { it.recordVisit(input) }

    /** Visits of [household] (or of every household when `null`), newest first. */
    suspend fun listVisits(household: HouseholdId? = null): List<Visit> =
        io { it.listVisits(household) }

    /** Report a safety hazard (see [newHazard]). */
    suspend fun reportHazard(input: NewHazard): Hazard = io { it.reportHazard(input) }

    /** Change a hazard's description, severity, place or deadline (see [hazardEdit]). */
    suspend fun editHazard(id: HazardId, edit: HazardEdit): Hazard = io { it.editHazard(id, edit) }

    /** One hazard with its transitions. */
    suspend fun hazard(id: HazardId): Hazard = io { it.hazard(id) }

    /** Move a hazard to [to] (`rectifying`, `rectified`, `closed`). */
    suspend fun transitionHazard(id: HazardId, to: String, note: String = ""): Hazard =
        io { it.transitionHazard(id, to, note) }

    /** Move a hazard with photos of the step (a rectification's "after" photos). */
    suspend fun transitionHazard(id: HazardId, to: String, note: String, photos: List<String>): Hazard =
        io { it.transitionHazardWithPhotos(id, to, note, photos) }

    /**
     * Take a photo in (JPEG, PNG or WebP bytes from the camera or the gallery): downscaled,
     * re-encoded as JPEG without metadata (GPS kept only with [keepLocation]), stored encrypted.
     * Put the returned id into a record's `photos`.
     */
    suspend fun attachPhoto(bytes: ByteArray, keepLocation: Boolean = false): Attachment =
        io { it.attachPhoto(bytes, keepLocation) }

    /** The photo's bytes when they are on the phone (else [fetchPhoto]). */
    suspend fun photoBytes(id: String): ByteArray? = io { it.photoBytes(id) }

    /** The photo's thumbnail, when kept. */
    suspend fun photoThumbnail(id: String): ByteArray? = io { it.photoThumbnail(id) }

    /** Photos waiting for upload. */
    suspend fun uploadQueue(): UploadQueue = io { it.uploadQueue() }

    /** Drop uploaded originals (kept as thumbnails) while they take more than [budgetBytes]. */
    suspend fun trimPhotos(budgetBytes: Long): TrimReport = io { it.trimPhotos(budgetBytes.toULong()) }

    /**
     * Upload the photos waiting, after a [sync] pushed their records; partial uploads resume
     * where they stopped, and one failing photo never stops the others.
     */
    suspend fun uploadPhotos(serverUrl: String, token: String): PhotoSyncSummary =
        store.uploadPhotos(serverUrl, token)

    /** Another device's photo, fetched from the server (resuming after drops) and kept. */
    suspend fun fetchPhoto(serverUrl: String, token: String, id: String): ByteArray =
        store.fetchPhoto(serverUrl, token, id)

    /** Hazards, newest first; [openOnly] hides closed ones. */
    suspend fun listHazards(openOnly: Boolean = false): List<Hazard> =
        io { it.listHazards(openOnly) }

    /** Take a resident's request or an event; the response clock starts (see [newCase]). */
    suspend fun openCase(input: NewCase): Case = io { it.openCase(input) }

    /** Change a case's description, category or urgency (see [caseEdit]). */
    suspend fun editCase(id: CaseId, edit: CaseEdit): Case = io { it.editCase(id, edit) }

    /** Move a case to [to] (`registered`, `escalated`, `dispatched`, …). */
    suspend fun transitionCase(id: CaseId, to: String, note: String = ""): Case =
        io { it.transitionCase(id, to, note) }

    /** One case with its timers. */
    suspend fun case(id: CaseId): Case = io { it.case(id) }

    /** Cases, newest first; [openOnly] hides closed ones. */
    suspend fun listCases(openOnly: Boolean = false): List<Case> = io { it.listCases(openOnly) }

    /** Open cases past a deadline, unanswered first. */
    suspend fun overdueCases(): List<Case> = io { it.overdueCases() }

    /** Template versions on this device (built-in and published). */
    suspend fun templates(): List<TemplateInfo> = io { it.templates() }

    /** A template as JSON (`docs/forms.md`), at [version] or the newest. */
    suspend fun templateJson(id: String, version: UInt? = null): String =
        io { it.templateJson(id, version) }

    /**
     * Fill a form with the newest version of [templateId]. [answersJson] is a JSON object
     * from field id to answer; a [household] or a free [subject] is required.
     *
     * @throws ApiException.InvalidForm with one entry (field, label, message) per failing field.
     */
    suspend fun fillForm(
        templateId: String,
        answersJson: String,
        household: HouseholdId? = null,
        subject: String = "",
    ): FormRecordInfo = io { it.fillForm(templateId, household, subject, answersJson) }

    /** Filled records (of [templateId], or all), newest first. */
    suspend fun listFormRecords(templateId: String? = null): List<FormRecordInfo> =
        io { it.listFormRecords(templateId) }

    /**
     * Fields edited concurrently on several devices (`record` says whose: `household`,
     * `resident`, `hazard` or `case`), and hazards' and cases' workflow conflicts (field
     * `workflow`: transitions that did not apply; resolved by a new transition).
     */
    suspend fun conflicts(): List<Conflict> = io { it.conflicts() }

    /** Resolve a conflict by choosing [value] for [field] (an ordinary edit). */
    suspend fun resolveConflict(
        household: HouseholdId,
        field: String,
        value: String,
        resident: ResidentId? = null,
    ): Household = io { it.resolveConflict(household, resident, field, value) }

    /**
     * Resolve a conflict on a hazard's or case's field by choosing [value], one of the
     * conflict's values ([record] is `hazard` or `case`, [recordId] its id; an ordinary edit).
     */
    suspend fun resolveRecordConflict(record: String, recordId: String, field: String, value: String): Unit =
        io { it.resolveRecordConflict(record, recordId, field, value) }

    /** The gridworker's own figures as of now. */
    suspend fun report(): Figures = io { it.report() }

    /** Verify the read models against the documents (nothing changes). */
    suspend fun check(): CheckReport = io { it.check() }

    /**
     * Records kept and synced but not shown, with why (a kind of a newer app version, or
     * content this version cannot read); updating the app shows them.
     */
    suspend fun quarantinedDocs(): List<QuarantinedDoc> = io { it.quarantinedDocs() }

    /**
     * Ids of records written in a newer format: shown and synced, but every edit fails with
     * [ApiException.ReadOnly] until the app is updated.
     */
    suspend fun readOnlyDocs(): List<String> = io { it.readOnlyDocs() }

    /**
     * Milliseconds the store adds to the phone's clock, learnt from the server at the last
     * sync; `null` before the first sync (and after [reinit]).
     */
    suspend fun clockOffset(): Long? = io { it.clockOffset() }

    /**
     * Exchange changes with the server at [serverUrl] using the device [token].
     *
     * Cancelling the calling coroutine cancels the sync itself: the core stops before its
     * next round trip (nothing already applied is lost) and the coroutine ends with a
     * `CancellationException`. A sync is safe to retry after any failure.
     *
     * @param onProgress Called after each applied round trip, on the sync's own background
     *   thread (post to the UI thread yourself); keep it short and do not throw from it.
     * @throws ApiException.Auth when the server refuses the token.
     * @throws ApiException.WrongAccount when the store was initialised for another worker or
     *   grid than the token's; nothing was exchanged (check the token, or see [reinit]).
     * @throws ApiException.Network when the server cannot be reached or fails.
     */
    suspend fun sync(
        serverUrl: String,
        token: String,
        onProgress: ((SyncProgress) -> Unit)? = null,
    ): SyncSummary {
        val listener = onProgress?.let(::ProgressListener)
        return SyncCancel().use { cancel ->
            coroutineScope {
                val running = async { store.sync(serverUrl, token, listener, cancel) }
                // Tie the core's cancel flag to this coroutine: the handler runs at the very
                // moment the coroutine is cancelled (even from inside onProgress), so the
                // core sees the flag before its next round trip.
                suspendCancellableCoroutine<Unit> { waiting ->
                    waiting.invokeOnCancellation { cancel.cancel() }
                    running.invokeOnCompletion { waiting.resume(Unit) }
                }
                running.await()
            }
        }
    }

    /** Release the native store; calls after this fail. */
    override fun close() = store.close()
}

/** Adapts a lambda to the generated [SyncListener] interface. */
private class ProgressListener(private val onProgress: (SyncProgress) -> Unit) : SyncListener {
    override fun onProgress(progress: SyncProgress) = onProgress.invoke(progress)
}

/**
 * A raw 32-byte SQLCipher key (e.g. generated and kept by Android Keystore): `StoreKey.raw(bytes)`.
 * The core rejects any other length with [ApiException.Validation] on field `key`.
 */
fun StoreKey.Companion.raw(bytes: ByteArray): StoreKey = StoreKey.Raw(bytes)

/** A passphrase from which SQLCipher derives the key (slow by design): `StoreKey.passphrase(text)`. */
fun StoreKey.Companion.passphrase(passphrase: String): StoreKey = StoreKey.Passphrase(passphrase)

/**
 * A [NewHousehold] with empty defaults (empty text means "not given"). Tags and [risk]
 * take codes (`elderly_alone`, `red`) or Chinese labels.
 */
fun newHousehold(
    address: String,
    representative: String = "",
    phone: String = "",
    tags: List<String> = emptyList(),
    community: String = "",
    building: String = "",
    unit: String = "",
    room: String = "",
    risk: String = "",
    note: String = "",
): NewHousehold = NewHousehold(
    community = community,
    building = building,
    unit = unit,
    room = room,
    address = address,
    representative = representative,
    phone = phone,
    tags = tags,
    risk = risk,
    note = note,
)

/** A [HouseholdEdit] that changes only what is given (`null` leaves a field as it is). */
fun householdEdit(
    address: String? = null,
    representative: String? = null,
    phone: String? = null,
    addTags: List<String> = emptyList(),
    removeTags: List<String> = emptyList(),
    community: String? = null,
    building: String? = null,
    unit: String? = null,
    room: String? = null,
    risk: String? = null,
    status: String? = null,
    note: String? = null,
): HouseholdEdit = HouseholdEdit(
    community = community,
    building = building,
    unit = unit,
    room = room,
    address = address,
    representative = representative,
    phone = phone,
    addTags = addTags,
    removeTags = removeTags,
    risk = risk,
    status = status,
    note = note,
)

/**
 * A [NewResident] with empty defaults. [idNumber] is a GB 11643 ID number (check digit
 * and birth date verified by the core); [gender] is `male`, `female` or empty.
 */
fun newResident(
    name: String,
    idNumber: String = "",
    birthDate: String = "",
    gender: String = "",
    phone: String = "",
    relation: String = "",
    tags: List<String> = emptyList(),
): NewResident = NewResident(
    name = name,
    gender = gender,
    birthDate = birthDate,
    idNumber = idNumber,
    phone = phone,
    relation = relation,
    tags = tags,
)

/** One checklist answer: [item] (e.g. `sanitation`), its [outcome] and what was found. */
fun checklistAnswer(item: String, outcome: Outcome = Outcome.OK, note: String = ""): ChecklistAnswer =
    ChecklistAnswer(item = item, outcome = outcome, note = note)

/** A [NewVisit] of [household]; start and end default to now in the core. */
fun newVisit(
    household: HouseholdId,
    answers: List<ChecklistAnswer> = emptyList(),
    note: String = "",
    location: Location? = null,
    startedAt: Timestamp? = null,
    endedAt: Timestamp? = null,
    followUpCases: List<CaseId> = emptyList(),
    photos: List<String> = emptyList(),
): NewVisit = NewVisit(
    household = household,
    startedAt = startedAt,
    endedAt = endedAt,
    location = location,
    answers = answers,
    note = note,
    followUpCases = followUpCases,
    photos = photos,
)

/** A [NewHazard]; [severity] is `low`, `medium` or `high` (empty = `low`). */
fun newHazard(
    category: String,
    description: String,
    severity: String = "",
    place: String = "",
    household: HouseholdId? = null,
    location: Location? = null,
    deadline: Timestamp? = null,
    photos: List<String> = emptyList(),
): NewHazard = NewHazard(
    category = category,
    severity = severity,
    location = location,
    place = place,
    description = description,
    household = household,
    deadline = deadline,
    photos = photos,
)

/** A [HazardEdit] that changes only what is given; [severity] is `low`, `medium` or `high`. */
fun hazardEdit(
    severity: String? = null,
    description: String? = null,
    place: String? = null,
    deadline: Timestamp? = null,
): HazardEdit = HazardEdit(description = description, severity = severity, deadline = deadline, place = place)

/** A [CaseEdit] that changes only what is given; [urgency] is `normal` or `urgent`. */
fun caseEdit(
    urgency: String? = null,
    description: String? = null,
    category: String? = null,
): CaseEdit = CaseEdit(description = description, category = category, urgency = urgency)

/**
 * A [NewCase]; [channel] is `visit`, `phone`, `wechat` or `walk_in` (empty = `visit`),
 * [urgency] `normal` or `urgent` (empty = `normal`).
 */
fun newCase(
    category: String,
    description: String,
    channel: String = "",
    urgency: String = "",
    household: HouseholdId? = null,
    resident: ResidentId? = null,
    openedAt: Timestamp? = null,
    photos: List<String> = emptyList(),
): NewCase = NewCase(
    channel = channel,
    category = category,
    description = description,
    urgency = urgency,
    household = household,
    resident = resident,
    openedAt = openedAt,
    photos = photos,
)
