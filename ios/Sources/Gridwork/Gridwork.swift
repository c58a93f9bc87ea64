// The hand-written part of the Gridwork Swift package: an async facade over the
// UniFFI-generated `GridworkStore` (Generated/GridworkFFI.swift, copied in by
// build-xcframework.sh), a Keychain-held database key, and sync with progress
// as an `AsyncThrowingStream` and cancellation tied to Swift task cancellation.
//
// Everything generated stays available (`GridworkClient.store`, the records,
// `ApiError`); this file only adds conveniences and never changes behaviour.

import Foundation
#if canImport(Security)
import Security
#endif

// MARK: - The store, off the main actor

/// One phone database, opened once and shared by the whole app.
///
/// Every `GridworkStore` call blocks while SQLite and the Automerge documents do
/// their work, so it must never run on the main thread. `GridworkClient` runs
/// each call on its own dispatch queue (not on the Swift cooperative thread
/// pool, which blocking work would starve) and hands the result back with
/// `async`/`await`:
///
/// ```swift
/// let key = try DatabaseKeychain.key(for: databaseURL)
/// let gridwork = try await GridworkClient.open(at: databaseURL, key: StoreKey(keychainData: key))
/// let due = try await gridwork.dueVisits()
/// ```
///
/// The underlying store is thread-safe; calls from several tasks at once are
/// fine. Errors are the generated ``ApiError``.
public final class GridworkClient: @unchecked Sendable {
    /// The generated store object, for calls this wrapper has no helper for.
    /// Its methods block: call them through ``perform(_:)``.
    public let store: GridworkStore

    private let queue: DispatchQueue

    private init(store: GridworkStore, queue: DispatchQueue) {
        self.store = store
        self.queue = queue
    }

    /// Opens (or creates) the store at `url`.
    ///
    /// - Parameters:
    ///   - url: A file URL in the app's private container, e.g. under
    ///     Application Support. Exclude it from backups if policy requires.
    ///   - key: The database key; use ``StoreKey/raw(bytes:)`` with 32 random
    ///     bytes from the Keychain (see ``DatabaseKeychain``). `nil` opens a
    ///     plain, unencrypted database: tests only.
    ///   - timezone: IANA zone of local days and months; `nil` means
    ///     `Asia/Shanghai`.
    /// - Throws: ``ApiError/WrongKey`` when the key does not open the file,
    ///   ``ApiError/Validation(field:reason:)`` for a raw key that is not
    ///   32 bytes, ``ApiError/Storage(reason:)`` when the file cannot be used.
    public static func `open`(
        at url: URL,
        key: StoreKey?,
        timezone: String? = nil
    ) async throws -> GridworkClient {
        let queue = DispatchQueue(
            label: "cn.gridwork.store",
            qos: .userInitiated,
            attributes: .concurrent
        )
        let path = url.path
        let options = OpenOptions(key: key, timezone: timezone)
        let store = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<GridworkStore, Error>) in
            queue.async {
                continuation.resume(with: Result { try GridworkStore.open(path: path, options: options) })
            }
        }
        return GridworkClient(store: store, queue: queue)
    }

    /// Runs `body` with the store on the store's queue and returns its result.
    ///
    /// Use it for any `GridworkStore` method without a helper below:
    ///
    /// ```swift
    /// let hazards = try await gridwork.perform { try $0.listHazards(openOnly: true) }
    /// ```
    public func perform<T>(_ body: @escaping @Sendable (GridworkStore) throws -> T) async throws -> T {
        let store = self.store
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            queue.async {
                continuation.resume(with: Result { try body(store) })
            }
        }
    }

    // MARK: Owner

    /// Sets the phone's owner and grid; allowed once per store.
    ///
    /// - Throws: ``ApiError/Conflict(reason:)`` when the store already has an
    ///   owner (see ``reinitialize(workerId:workerName:grid:)``).
    @discardableResult
    public func initialize(workerId: String, workerName: String, grid: String) async throws -> Device {
        try await perform { try $0.`init`(workerId: workerId, workerName: workerName, grid: grid) }
    }

    /// Starts the store over for another owner and grid: for a phone
    /// initialised with the wrong grid or worker (its sync fails with
    /// ``ApiError/WrongAccount(reason:)``) or handed to someone else. Removes
    /// every record and the sync state of this store and sets the new owner;
    /// the new grid's records arrive with the next sync.
    ///
    /// - Throws: ``ApiError/Conflict(reason:)`` while any change is not yet
    ///   synced; nothing changes then (sync first, or see
    ///   ``reinitializeDiscardingUnsynced(workerId:workerName:grid:)``).
    @discardableResult
    public func reinitialize(workerId: String, workerName: String, grid: String) async throws -> Device {
        try await perform { try $0.reinit(workerId: workerId, workerName: workerName, grid: grid) }
    }

    /// ``reinitialize(workerId:workerName:grid:)`` even though changes are not
    /// yet synced: the deliberate way out for a phone whose sync is refused
    /// (``ApiError/WrongAccount(reason:)``) and that holds work recorded before
    /// its first sync. That work is **removed** and cannot be recovered: ask
    /// the user to confirm first.
    @discardableResult
    public func reinitializeDiscardingUnsynced(
        workerId: String,
        workerName: String,
        grid: String
    ) async throws -> Device {
        try await perform {
            try $0.reinitDiscardingUnsynced(workerId: workerId, workerName: workerName, grid: grid)
        }
    }

    /// The phone's owner.
    ///
    /// - Throws: ``ApiError/NotInitialized`` before ``initialize(workerId:workerName:grid:)``.
    public func device() async throws -> Device {
        try await perform { try $0.device() }
    }

    // MARK: Households and residents

    /// Registers a household.
    ///
    /// - Throws: ``ApiError/Validation(field:reason:)`` naming the field
    ///   (`address`, `phone`, `tags`, …); nothing is stored then.
    public func addHousehold(_ input: NewHousehold) async throws -> Household {
        try await perform { try $0.addHousehold(input: input) }
    }

    /// Changes a household's fields and tags.
    public func editHousehold(_ id: HouseholdId, _ edit: HouseholdEdit) async throws -> Household {
        try await perform { try $0.editHousehold(id: id, edit: edit) }
    }

    /// One household with its residents.
    ///
    /// - Throws: ``ApiError/NotFound(kind:id:)`` for an unknown id.
    public func household(_ id: HouseholdId) async throws -> Household {
        try await perform { try $0.household(id: id) }
    }

    /// Every household of the grid with its next due visit.
    public func households() async throws -> [HouseholdSummary] {
        try await perform { try $0.listHouseholds() }
    }

    /// Households whose address, representative or a resident's name contains
    /// `text` and/or that are in the special group `tag` (a code such as
    /// `elderly_alone` or its Chinese label).
    public func searchHouseholds(_ text: String, tag: String? = nil) async throws -> [HouseholdSummary] {
        try await perform { try $0.searchHouseholds(text: text, tag: tag) }
    }

    /// Adds a resident to a household. ID numbers are checked per GB 11643.
    ///
    /// - Throws: ``ApiError/Validation(field:reason:)`` with `field`
    ///   `id_number` for a wrong check digit or birth date.
    public func addResident(to household: HouseholdId, _ input: NewResident) async throws -> Resident {
        try await perform { try $0.addResident(household: household, input: input) }
    }

    // MARK: Visits

    /// Records a door-to-door visit against the checklist.
    public func recordVisit(_ input: NewVisit) async throws -> Visit {
        try await perform { try $0.recordVisit(input: input) }
    }

    /// Visits of one household, or of all when `household` is `nil`, newest first.
    public func visits(of household: HouseholdId? = nil) async throws -> [Visit] {
        try await perform { try $0.listVisits(household: household) }
    }

    /// Households due or overdue a visit, most urgent first. A household never
    /// visited is due from the day it was registered.
    public func dueVisits() async throws -> [DueEntry] {
        try await perform { try $0.dueVisits() }
    }

    // MARK: Photos

    /// Takes a photo in (JPEG, PNG or WebP bytes from the camera or the
    /// gallery): downscaled, re-encoded as JPEG without metadata (GPS kept
    /// only with `keepLocation`), stored encrypted. Put the returned id into
    /// a record's `photos`.
    public func attachPhoto(_ bytes: Data, keepLocation: Bool = false) async throws -> Attachment {
        try await perform { try $0.attachPhoto(bytes: bytes, keepLocation: keepLocation) }
    }

    /// The photo's bytes when they are on the phone (else ``fetchPhoto(_:server:token:)``).
    public func photoBytes(_ id: String) async throws -> Data? {
        try await perform { try $0.photoBytes(id: id) }
    }

    /// The photo's thumbnail, when kept.
    public func photoThumbnail(_ id: String) async throws -> Data? {
        try await perform { try $0.photoThumbnail(id: id) }
    }

    /// Photos waiting for upload.
    public func uploadQueue() async throws -> UploadQueue {
        try await perform { try $0.uploadQueue() }
    }

    /// Uploads the photos waiting, after a ``sync(server:token:onProgress:)``
    /// pushed their records; resumes partial uploads.
    public func uploadPhotos(server: URL, token: String) async throws -> PhotoSyncSummary {
        try await store.uploadPhotos(serverUrl: server.absoluteString, token: token)
    }

    /// Another device's photo, fetched from the server (resuming after drops) and kept.
    public func fetchPhoto(_ id: String, server: URL, token: String) async throws -> Data {
        try await store.fetchPhoto(serverUrl: server.absoluteString, token: token, id: id)
    }

    /// Moves a hazard with photos of the step (a rectification's "after").
    public func transitionHazard(_ id: HazardId, to: String, note: String = "", photos: [String]) async throws -> Hazard {
        try await perform { try $0.transitionHazardWithPhotos(id: id, to: to, note: note, photos: photos) }
    }

    // MARK: Hazards and cases

    /// Reports a safety hazard.
    public func reportHazard(_ input: NewHazard) async throws -> Hazard {
        try await perform { try $0.reportHazard(input: input) }
    }

    /// Changes a hazard's description, severity, place or deadline.
    @discardableResult
    public func editHazard(_ id: HazardId, _ edit: HazardEdit) async throws -> Hazard {
        try await perform { try $0.editHazard(id: id, edit: edit) }
    }

    /// One hazard with its transitions.
    public func hazard(_ id: HazardId) async throws -> Hazard {
        try await perform { try $0.hazard(id: id) }
    }

    /// Takes a resident's request or an event; the response clock starts.
    public func openCase(_ input: NewCase) async throws -> Case {
        try await perform { try $0.openCase(input: input) }
    }

    /// Changes a case's description, category or urgency.
    @discardableResult
    public func editCase(_ id: CaseId, _ edit: CaseEdit) async throws -> Case {
        try await perform { try $0.editCase(id: id, edit: edit) }
    }

    /// Moves a case to `state` (`registered`, `escalated`, `dispatched`, …).
    ///
    /// - Throws: ``ApiError/Conflict(reason:)`` when the transition is not
    ///   allowed from the current status.
    public func transitionCase(_ id: CaseId, to state: String, note: String = "") async throws -> Case {
        try await perform { try $0.transitionCase(id: id, to: state, note: note) }
    }

    /// One case with its timers.
    public func caseRecord(_ id: CaseId) async throws -> Case {
        try await perform { try $0.`case`(id: id) }
    }

    /// Open cases past a deadline, unanswered first.
    public func overdueCases() async throws -> [Case] {
        try await perform { try $0.overdueCases() }
    }

    // MARK: Forms

    /// Template versions on this device; `newest` marks the one used for new records.
    public func templates() async throws -> [TemplateInfo] {
        try await perform { try $0.templates() }
    }

    /// A template as JSON (the format of docs/forms.md), at `version` or the newest.
    public func templateJSON(_ id: String, version: UInt32? = nil) async throws -> String {
        try await perform { try $0.templateJson(id: id, version: version) }
    }

    /// Fills a form with the newest version of `template`.
    ///
    /// - Parameter answersJSON: A JSON object from field id to answer.
    /// - Throws: ``ApiError/InvalidForm(errors:summary:)`` with one
    ///   ``FieldError`` per failing field (`answers.<id>`, its label and why).
    public func fillForm(
        _ template: String,
        household: HouseholdId?,
        subject: String = "",
        answersJSON: String
    ) async throws -> FormRecordInfo {
        try await perform {
            try $0.fillForm(templateId: template, household: household, subject: subject, answersJson: answersJSON)
        }
    }

    /// Fills a form with answers given as any `Encodable` value that encodes to
    /// a JSON object (a struct whose property names are the field ids, or a
    /// dictionary).
    public func fillForm<Answers: Encodable>(
        _ template: String,
        household: HouseholdId?,
        subject: String = "",
        answers: Answers
    ) async throws -> FormRecordInfo {
        let data = try JSONEncoder().encode(answers)
        let json = String(decoding: data, as: UTF8.self)
        return try await fillForm(template, household: household, subject: subject, answersJSON: json)
    }

    /// Filled records of one template, or all, newest first.
    public func formRecords(of template: String? = nil) async throws -> [FormRecordInfo] {
        try await perform { try $0.listFormRecords(templateId: template) }
    }

    // MARK: Conflicts, figures, checks

    /// Fields edited concurrently on several phones (`record` says whose:
    /// `household`, `resident`, `hazard` or `case`), and hazards' and cases'
    /// workflow conflicts (field `workflow`: transitions that did not apply;
    /// resolved by a new transition).
    public func conflicts() async throws -> [Conflict] {
        try await perform { try $0.conflicts() }
    }

    /// Resolves a conflict by choosing one value (an ordinary edit that syncs).
    @discardableResult
    public func resolveConflict(
        household: HouseholdId,
        resident: ResidentId? = nil,
        field: String,
        value: String
    ) async throws -> Household {
        try await perform {
            try $0.resolveConflict(household: household, resident: resident, field: field, value: value)
        }
    }

    /// Resolves a conflict on a hazard's or case's field by choosing `value`,
    /// one of the conflict's values (`record` is `hazard` or `case`; an
    /// ordinary edit that syncs).
    public func resolveRecordConflict(
        record: String,
        recordId: String,
        field: String,
        value: String
    ) async throws {
        try await perform {
            try $0.resolveRecordConflict(record: record, recordId: recordId, field: field, value: value)
        }
    }

    /// The gridworker's own figures as of now.
    public func report() async throws -> Figures {
        try await perform { try $0.report() }
    }

    /// Verifies the read models against the documents; nothing changes.
    public func check() async throws -> CheckReport {
        try await perform { try $0.check() }
    }

    /// Records kept and synced but not shown, with why (a kind of a newer app
    /// version, or content this version cannot read); updating the app shows them.
    public func quarantinedDocs() async throws -> [QuarantinedDoc] {
        try await perform { try $0.quarantinedDocs() }
    }

    /// Ids of records written in a newer format: shown and synced, but every
    /// edit fails with ``ApiError/ReadOnly(reason:)`` until the app is updated.
    public func readOnlyDocs() async throws -> [String] {
        try await perform { try $0.readOnlyDocs() }
    }

    /// Milliseconds the store adds to the phone's clock, learnt from the
    /// server at the last sync; `nil` before the first sync (and after
    /// ``reinitialize(workerId:workerName:grid:)``).
    public func clockOffset() async throws -> Int64? {
        try await perform { $0.clockOffset() }
    }
}

// MARK: - Sync

/// One step of a sync seen through ``GridworkClient/syncEvents(server:token:)``.
public enum SyncEvent: Sendable {
    /// One more round trip was applied.
    case progress(SyncProgress)
    /// The sync finished; the stream ends after this event.
    case finished(SyncSummary)
}

extension GridworkClient {
    /// Exchanges changes with the office's server.
    ///
    /// Cancelling the calling `Task` cancels the sync before its next round
    /// trip (through ``SyncCancel/cancel()``); what was applied so far is kept
    /// and a later sync carries on. A sync is idempotent: retrying after any
    /// failure is safe.
    ///
    /// - Parameters:
    ///   - server: The server's base URL, e.g. `https://grid.example.cn`.
    ///   - token: The device token the office issued (keep it in the Keychain).
    ///   - onProgress: Called after each applied round trip, on the sync's own
    ///     background thread: hop to the main actor yourself for UI.
    /// - Returns: What the sync did (docs and bytes each way, new conflicts, …).
    /// - Throws: `CancellationError` when the task was cancelled,
    ///   ``ApiError/Auth`` for an unknown or revoked token (stop and ask the
    ///   office), ``ApiError/WrongAccount(reason:)`` when the store was
    ///   initialised for another worker or grid than the token's (nothing was
    ///   exchanged), ``ApiError/Network(reason:)`` when the server cannot be
    ///   reached (retry later).
    public func sync(
        server: URL,
        token: String,
        onProgress: (@Sendable (SyncProgress) -> Void)? = nil
    ) async throws -> SyncSummary {
        let cancel = SyncCancel()
        let listener = onProgress.map { ProgressRelay($0) }
        let store = self.store
        let url = server.absoluteString
        do {
            return try await withTaskCancellationHandler {
                try await store.sync(serverUrl: url, token: token, listener: listener, cancel: cancel)
            } onCancel: {
                cancel.cancel()
            }
        } catch ApiError.Cancelled where Task.isCancelled {
            throw CancellationError()
        }
    }

    /// Runs a sync and reports it as a stream: ``SyncEvent/progress(_:)`` after
    /// each round trip, then ``SyncEvent/finished(_:)``, or the error.
    ///
    /// Stopping the iteration (leaving the loop, or cancelling the task that
    /// iterates) cancels the sync.
    ///
    /// ```swift
    /// for try await event in gridwork.syncEvents(server: url, token: token) {
    ///     switch event {
    ///     case .progress(let p): status = "\(p.docsDown) records received"
    ///     case .finished(let summary): status = "\(summary.docsUp) sent"
    ///     }
    /// }
    /// ```
    public func syncEvents(server: URL, token: String) -> AsyncThrowingStream<SyncEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let summary = try await self.sync(server: server, token: token) { progress in
                        continuation.yield(.progress(progress))
                    }
                    continuation.yield(.finished(summary))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Forwards the core's progress callbacks to a Swift closure.
private final class ProgressRelay: SyncListener, @unchecked Sendable {
    private let handler: @Sendable (SyncProgress) -> Void

    init(_ handler: @escaping @Sendable (SyncProgress) -> Void) {
        self.handler = handler
    }

    func onProgress(progress: SyncProgress) {
        handler(progress)
    }
}

// Swift 6 compilers get these conformances from the generated file (under
// `#if compiler(>=6)`); older ones need them to pass progress and summaries
// between tasks. Both are plain values (numbers, strings, arrays of them).
#if !compiler(>=6)
extension SyncProgress: @unchecked Sendable {}
extension SyncSummary: @unchecked Sendable {}
extension Rejection: @unchecked Sendable {}
#endif

// MARK: - Database key in the Keychain

#if canImport(Security)
/// Keeps the 32-byte database key in the Keychain, readable after the first
/// unlock on this device only (`kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`):
/// background syncs work while the phone is locked, and the key never leaves
/// the device in backups.
///
/// Losing the key loses the database: SQLCipher cannot open the file without
/// it. ``key(for:service:)`` therefore creates a key only when the database
/// file does not exist yet, and otherwise refuses instead of silently
/// replacing it.
public enum DatabaseKeychain {
    /// Why the Keychain could not supply the key.
    public enum Failure: Error, Equatable {
        /// The database exists but its key is not in the Keychain (restored to
        /// a new device, or the Keychain item was deleted). The data cannot be
        /// opened; do not delete the file without the user and the office.
        case keyMissingForExistingDatabase
        /// The stored item is not a 32-byte key.
        case malformedKey
        /// The system could not generate random bytes.
        case randomFailed(OSStatus)
        /// A Keychain call failed with this status.
        case keychain(OSStatus)
    }

    /// The key of the database at `url`: read from the Keychain, or generated
    /// (32 random bytes) and stored there when the database does not exist yet.
    ///
    /// Pass it as `StoreKey.raw(bytes: key)`.
    public static func key(for url: URL, service: String = "cn.gridwork.database-key") throws -> Data {
        let account = url.standardizedFileURL.path
        if let existing = try read(service: service, account: account) {
            return existing
        }
        if FileManager.default.fileExists(atPath: account) {
            throw Failure.keyMissingForExistingDatabase
        }
        let fresh = try randomKey()
        let attributes: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecValueData as String: fresh,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        let status = SecItemAdd(attributes as CFDictionary, nil)
        switch status {
        case errSecSuccess:
            return fresh
        case errSecDuplicateItem:
            // Another caller stored one first: use theirs.
            guard let winner = try read(service: service, account: account) else {
                throw Failure.keychain(status)
            }
            return winner
        default:
            throw Failure.keychain(status)
        }
    }

    private static func read(service: String, account: String) throws -> Data? {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
            kSecMatchLimit as String: kSecMatchLimitOne,
        ]
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data, data.count == 32 else { throw Failure.malformedKey }
            return data
        case errSecItemNotFound:
            return nil
        default:
            // Locked before first unlock, no entitlement, …: never treat as
            // "no key", which would lead to a new key and an unreadable file.
            throw Failure.keychain(status)
        }
    }

    private static func randomKey() throws -> Data {
        var bytes = [UInt8](repeating: 0, count: 32)
        let status = SecRandomCopyBytes(kSecRandomDefault, bytes.count, &bytes)
        guard status == errSecSuccess else { throw Failure.randomFailed(status) }
        return Data(bytes)
    }
}
#endif

// MARK: - Convenience initialisers

extension StoreKey {
    /// The raw 32-byte key read from the Keychain, e.g. by
    /// ``DatabaseKeychain/key(for:service:)``: `.raw(bytes: data)`, checked.
    ///
    /// - Throws: ``ApiError/Validation(field:reason:)`` with field `key` when
    ///   `data` is not 32 bytes (the same check the core makes on open).
    public init(keychainData data: Data) throws {
        guard data.count == 32 else {
            throw ApiError.Validation(field: "key", reason: "密钥须为 32 字节 / a raw key must be 32 bytes")
        }
        self = .raw(bytes: data)
    }
}

extension NewHousehold {
    /// A new household; everything but the address is optional. Tags and risk
    /// take codes (`elderly_alone`, `red`) or Chinese labels.
    public init(
        address: String,
        representative: String = "",
        phone: String = "",
        tags: [String] = [],
        community: String = "",
        building: String = "",
        unit: String = "",
        room: String = "",
        risk: String = "",
        note: String = ""
    ) {
        self.init(
            community: community, building: building, unit: unit, room: room,
            address: address, representative: representative, phone: phone,
            tags: tags, risk: risk, note: note
        )
    }
}

extension NewResident {
    /// A new resident; everything but the name is optional. `idNumber` is a
    /// GB 11643 number (checked), `birthDate` `YYYY-MM-DD`.
    public init(
        name: String,
        idNumber: String = "",
        phone: String = "",
        gender: String = "",
        birthDate: String = "",
        relation: String = "",
        tags: [String] = []
    ) {
        self.init(
            name: name, gender: gender, birthDate: birthDate, idNumber: idNumber,
            phone: phone, relation: relation, tags: tags
        )
    }
}

extension HouseholdEdit {
    /// An edit that changes only the fields given; `nil` leaves a field as it is.
    public init(
        phone: String? = nil,
        address: String? = nil,
        representative: String? = nil,
        note: String? = nil,
        risk: String? = nil,
        status: String? = nil,
        addTags: [String] = [],
        removeTags: [String] = []
    ) {
        self.init(
            community: nil, building: nil, unit: nil, room: nil,
            address: address, representative: representative, phone: phone,
            addTags: addTags, removeTags: removeTags, risk: risk, status: status, note: note
        )
    }
}

extension HazardEdit {
    /// An edit that changes only the fields given; `nil` leaves a field as it
    /// is. `severity` is `low`, `medium` or `high`.
    public init(
        severity: String? = nil,
        description: String? = nil,
        place: String? = nil,
        deadline: Timestamp? = nil
    ) {
        self.init(description: description, severity: severity, deadline: deadline, place: place)
    }
}

extension CaseEdit {
    /// An edit that changes only the fields given; `nil` leaves a field as it
    /// is. `urgency` is `normal` or `urgent`.
    public init(urgency: String? = nil, description: String? = nil, category: String? = nil) {
        self.init(description: description, category: category, urgency: urgency)
    }
}

extension NewVisit {
    /// A visit to `household` now, with the checklist answers given.
    public init(
        household: HouseholdId,
        answers: [ChecklistAnswer],
        note: String = "",
        location: Location? = nil,
        photos: [String] = []
    ) {
        self.init(
            household: household, startedAt: nil, endedAt: nil, location: location,
            answers: answers, note: note, followUpCases: [], photos: photos
        )
    }
}

extension ChecklistAnswer {
    /// Checklist item `item` found in order.
    public static func ok(_ item: String) -> ChecklistAnswer {
        ChecklistAnswer(item: item, outcome: .ok, note: "")
    }

    /// Checklist item `item` with a problem, and what was found.
    public static func problem(_ item: String, note: String) -> ChecklistAnswer {
        ChecklistAnswer(item: item, outcome: .problem, note: note)
    }
}
