// The Gridwork scenario from Swift, mirroring bindings/python/tests and the
// Kotlin JVM tests: encrypted store, reinit, households, residents and
// visits, validation errors naming the field, due visits, invalid forms, and
// sync against a real gridwork-server (conflicts on households and hazards,
// workflow conflicts, a token of another worker).
//
// The sync tests need a server and are skipped without one:
//
//   bash ios/build-xcframework.sh
//   bash bindings/with-test-server.sh swift test --package-path ios
//
// (with-test-server.sh exports GRIDWORK_TEST_SERVER and GRIDWORK_TEST_TOKEN_A/B.)

import Foundation
import XCTest
import Gridwork

final class GridworkTests: XCTestCase {
    /// GB 11643: born 1949-12-31, check character X.
    private let validIdNumber = "11010519491231002X"

    // MARK: Helpers

    private func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("gridwork-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    private func randomKey() -> Data {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) })
    }

    private func phone(
        _ dir: URL,
        _ name: String,
        worker: String = "gw-a",
        grid: String = "G1",
        key: StoreKey? = nil,
        timezone: String? = nil
    ) async throws -> GridworkClient {
        let client = try await GridworkClient.open(
            at: dir.appendingPathComponent(name), key: key, timezone: timezone)
        try await client.initialize(workerId: worker, workerName: "网格员 \(worker)", grid: grid)
        return client
    }

    /// The ApiError `body` throws, or a failure when it throws nothing or something else.
    private func apiError<T>(
        file: StaticString = #filePath,
        line: UInt = #line,
        _ body: () async throws -> T
    ) async -> ApiError? {
        do {
            _ = try await body()
            XCTFail("expected an ApiError", file: file, line: line)
        } catch let error as ApiError {
            return error
        } catch {
            XCTFail("expected an ApiError, got \(error)", file: file, line: line)
        }
        return nil
    }

    private func utcDay(_ millis: Int64) -> String {
        let formatter = DateFormatter()
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(millis) / 1000))
    }

    // MARK: Store and key

    func testEncryptedStoreHidesDataAndRefusesAWrongKey() async throws {
        let dir = try temporaryDirectory()
        let key = randomKey()
        let address = "幸福里3号楼302室"
        let gridwork = try await phone(dir, "phone.db", key: try StoreKey(keychainData: key))
        let household = try await gridwork.addHousehold(NewHousehold(address: address, phone: "13800138000"))
        let readBack = try await gridwork.household(household.id)
        XCTAssertEqual(readBack.address, address)

        var bytes = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasPrefix("phone.db") {
            bytes.append(try Data(contentsOf: dir.appendingPathComponent(name)))
        }
        XCTAssertFalse(bytes.isEmpty)
        XCTAssertNil(bytes.range(of: Data(address.utf8)), "the address is not readable in the file")
        XCTAssertNil(bytes.range(of: Data("13800138000".utf8)))

        var wrong = key
        wrong[0] ^= 0xFF
        let error = await apiError {
            try await GridworkClient.open(at: dir.appendingPathComponent("phone.db"), key: .raw(bytes: wrong))
        }
        XCTAssertEqual(error, .WrongKey)

        let again = try await GridworkClient.open(at: dir.appendingPathComponent("phone.db"), key: .raw(bytes: key))
        let addresses = try await again.households().map(\.address)
        XCTAssertEqual(addresses, [address])
    }

    func testARawKeyMustBe32Bytes() async throws {
        XCTAssertThrowsError(try StoreKey(keychainData: Data(count: 16)))
        let dir = try temporaryDirectory()
        let error = await apiError {
            try await GridworkClient.open(at: dir.appendingPathComponent("short.db"), key: .raw(bytes: Data(count: 16)))
        }
        guard case .Validation(let field, _)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(field, "key")
    }

    func testCallsBeforeInitRaiseNotInitialized() async throws {
        let dir = try temporaryDirectory()
        let gridwork = try await GridworkClient.open(at: dir.appendingPathComponent("fresh.db"), key: nil)
        let error = await apiError { try await gridwork.addHousehold(NewHousehold(address: "幸福里1号")) }
        XCTAssertEqual(error, .NotInitialized)
        let device = try await gridwork.initialize(workerId: "gw-a", workerName: "网格员甲", grid: "G1")
        XCTAssertEqual(device.grid, "G1")
        let twice = await apiError { try await gridwork.initialize(workerId: "gw-b", workerName: "乙", grid: "G1") }
        guard case .Conflict? = twice else { return XCTFail("\(String(describing: twice))") }
    }

    func testReinitMovesACleanStoreAndRefusesWhileAChangeIsUnsynced() async throws {
        let dir = try temporaryDirectory()
        let gridwork = try await phone(dir, "phone.db", worker: "gw-a", grid: "G1")
        let first = try await gridwork.device()
        let offset = try await gridwork.clockOffset()
        XCTAssertNil(offset, "never synced")
        let quarantined = try await gridwork.quarantinedDocs()
        XCTAssertTrue(quarantined.isEmpty)
        let readOnly = try await gridwork.readOnlyDocs()
        XCTAssertTrue(readOnly.isEmpty)

        // Nothing recorded yet: reinit switches owner and grid.
        let moved = try await gridwork.reinitialize(workerId: "gw-c", workerName: "网格员丙", grid: "G2")
        XCTAssertEqual(moved.workerId, "gw-c")
        XCTAssertEqual(moved.grid, "G2")
        XCTAssertNotEqual(moved.actor, first.actor, "a new device actor")

        // A household not yet synced: reinit throws Conflict and changes nothing.
        let household = try await gridwork.addHousehold(NewHousehold(address: "重置里1号楼101室"))
        XCTAssertEqual(household.grid, "G2")
        let refused = await apiError {
            try await gridwork.reinitialize(workerId: "gw-a", workerName: "网格员甲", grid: "G1")
        }
        guard case .Conflict? = refused else { return XCTFail("\(String(describing: refused))") }
        let owner = try await gridwork.device()
        XCTAssertEqual(owner, moved, "the owner is unchanged")
        let kept = try await gridwork.households().map(\.id)
        XCTAssertEqual(kept, [household.id], "the household is kept")

        // Discarding the unsynced work is the deliberate way out.
        let back = try await gridwork.reinitializeDiscardingUnsynced(workerId: "gw-a", workerName: "网格员甲", grid: "G1")
        XCTAssertEqual(back.workerId, "gw-a")
        XCTAssertEqual(back.grid, "G1")
        let none = try await gridwork.households()
        XCTAssertTrue(none.isEmpty)
        let gone = await apiError { try await gridwork.household(household.id) }
        guard case .NotFound? = gone else { return XCTFail("\(String(describing: gone))") }
        let check = try await gridwork.check()
        XCTAssertTrue(check.ok)
    }

    // MARK: Households, residents, visits

    func testHouseholdsResidentsAndAVisit() async throws {
        let dir = try temporaryDirectory()
        let gridwork = try await phone(dir, "phone.db", key: .raw(bytes: randomKey()))
        let lonely = try await gridwork.addHousehold(
            NewHousehold(address: "幸福里1号楼101室", representative: "王五", tags: ["elderly_alone"]))
        let other = try await gridwork.addHousehold(NewHousehold(address: "幸福里1号楼102室"))
        XCTAssertEqual(lonely.tags, [.elderlyAlone])

        let resident = try await gridwork.addResident(to: lonely.id, NewResident(name: "王五", idNumber: validIdNumber))
        XCTAssertEqual(resident.idNumber, validIdNumber)

        let wrongDigit = String(validIdNumber.dropLast()) + "1"
        let error = await apiError { try await gridwork.addResident(to: other.id, NewResident(name: "赵六", idNumber: wrongDigit)) }
        guard case .Validation(let field, let message)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(field, "id_number")
        XCTAssertFalse(message.contains(wrongDigit), "errors carry no personal data")

        let visit = try await gridwork.recordVisit(NewVisit(
            household: lonely.id,
            answers: [.ok("sanitation"), .problem("elderly_alone", note: "行动不便，需送餐")],
            note: "上门走访"))
        let visits = try await gridwork.visits(of: lonely.id)
        XCTAssertEqual(visits.map(\.id), [visit.id])
        let answers = Dictionary(uniqueKeysWithValues: visits[0].answers.map { ($0.item, $0) })
        XCTAssertEqual(answers["sanitation"]?.outcome, .ok)
        XCTAssertEqual(answers["elderly_alone"]?.outcome, .problem)
        XCTAssertEqual(answers["elderly_alone"]?.note, "行动不便，需送餐")
        XCTAssertEqual(visits[0].note, "上门走访")

        let tagged = try await gridwork.searchHouseholds("", tag: "elderly_alone")
        XCTAssertEqual(tagged.map(\.id), [lonely.id])
        let shown = try await gridwork.household(lonely.id)
        XCTAssertEqual(shown.residents.map(\.name), ["王五"])
        let check = try await gridwork.check()
        XCTAssertTrue(check.ok)
    }

    func testAMalformedPhoneNamesTheFieldAndStoresNothing() async throws {
        let dir = try temporaryDirectory()
        let gridwork = try await phone(dir, "phone.db")
        let error = await apiError { try await gridwork.addHousehold(NewHousehold(address: "幸福里4号楼401室", phone: "12345")) }
        guard case .Validation(let field, _)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(field, "phone")
        let households = try await gridwork.households()
        XCTAssertTrue(households.isEmpty)
    }

    func testANeverVisitedHouseholdIsDueFromItsRegistrationDay() async throws {
        let dir = try temporaryDirectory()
        let gridwork = try await phone(dir, "phone.db", timezone: "UTC")
        let lonely = try await gridwork.addHousehold(NewHousehold(address: "幸福里5号楼501室", tags: ["elderly_alone"]))
        let plain = try await gridwork.addHousehold(NewHousehold(address: "幸福里5号楼502室"))

        let due = try await gridwork.dueVisits()
        XCTAssertEqual(due.map(\.household.id), [lonely.id, plain.id], "special groups first")
        for (entry, household) in zip(due, [lonely, plain]) {
            XCTAssertEqual(entry.household.nextVisitDue, utcDay(household.createdAt))
            XCTAssertEqual(entry.household.dueStatus, .due)
            XCTAssertEqual(entry.daysOverdue, 0)
        }
        XCTAssertEqual(due[0].household.visitInterval, .weekly)
        XCTAssertEqual(due[1].household.visitInterval, .quarterly)

        // A visit moves the weekly household a week on: no longer due.
        _ = try await gridwork.recordVisit(NewVisit(household: lonely.id, answers: []))
        let after = try await gridwork.dueVisits()
        XCTAssertEqual(after.map(\.household.id), [plain.id])
    }

    // MARK: Forms

    func testBadAnswersRaiseInvalidFormWithOneErrorPerField() async throws {
        let dir = try temporaryDirectory()
        let gridwork = try await phone(dir, "phone.db")
        let household = try await gridwork.addHousehold(NewHousehold(address: "幸福里6号楼601室"))

        let error = await apiError {
            try await gridwork.fillForm(
                "duty-sanitation", household: household.id,
                answersJSON: #"{"place": 3, "problems": "maybe"}"#)
        }
        guard case .InvalidForm(let errors, let message)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(
            Set(errors.map(\.field)),
            ["answers.checked_at", "answers.place", "answers.area_type", "answers.problems"])
        let checkedAt = errors.first { $0.field == "answers.checked_at" }
        XCTAssertEqual(checkedAt?.label, "巡查日期 / Date checked")
        for fieldError in errors {
            XCTAssertTrue(message.contains(fieldError.field))
        }
        let none = try await gridwork.formRecords()
        XCTAssertTrue(none.isEmpty)

        struct Answers: Encodable {
            let checked_at = "2026-01-05"
            let place = "幸福里6号楼"
            let area_type = "residential"
            let problems = ["none"]
        }
        let record = try await gridwork.fillForm("duty-sanitation", household: household.id, answers: Answers())
        XCTAssertEqual(record.template.id, "duty-sanitation")
        let records = try await gridwork.formRecords(of: "duty-sanitation")
        XCTAssertEqual(records.map(\.id), [record.id])
    }

    // MARK: Sync against a real server

    private struct Server {
        let url: URL
        let tokenA: String
        let tokenB: String
    }

    private func server() throws -> Server {
        let env = ProcessInfo.processInfo.environment
        guard let base = env["GRIDWORK_TEST_SERVER"], let url = URL(string: base),
              let tokenA = env["GRIDWORK_TEST_TOKEN_A"], let tokenB = env["GRIDWORK_TEST_TOKEN_B"]
        else {
            throw XCTSkip("GRIDWORK_TEST_SERVER / GRIDWORK_TEST_TOKEN_A / _B not set (run under bindings/with-test-server.sh)")
        }
        return Server(url: url, tokenA: tokenA, tokenB: tokenB)
    }

    func testSyncBringsAHouseholdToTheSecondPhoneWithProgress() async throws {
        let server = try server()
        let dir = try temporaryDirectory()
        let a = try await phone(dir, "a.db", worker: "gw-a", key: .raw(bytes: randomKey()))
        let b = try await phone(dir, "b.db", worker: "gw-b")
        let household = try await a.addHousehold(NewHousehold(address: "同步里1号楼101室", tags: ["elderly_alone"]))
        _ = try await a.addResident(to: household.id, NewResident(name: "王五", idNumber: validIdNumber))

        var progress: [SyncProgress] = []
        var summary: SyncSummary?
        for try await event in a.syncEvents(server: server.url, token: server.tokenA) {
            switch event {
            case .progress(let step): progress.append(step)
            case .finished(let done): summary = done
            }
        }
        let up = try XCTUnwrap(summary)
        XCTAssertGreaterThan(up.docsUp, 0)
        XCTAssertTrue(up.rejected.isEmpty)
        XCTAssertFalse(progress.isEmpty, "the listener saw at least one round trip")

        _ = try await b.sync(server: server.url, token: server.tokenB)
        let seen = try await b.household(household.id)
        XCTAssertEqual(seen.address, "同步里1号楼101室")
        XCTAssertEqual(seen.residents.map(\.idNumber), [validIdNumber])
    }

    func testConcurrentEditsOfOneFieldConvergeWithAConflict() async throws {
        let server = try server()
        let dir = try temporaryDirectory()
        let a = try await phone(dir, "a.db", worker: "gw-a")
        let b = try await phone(dir, "b.db", worker: "gw-b")
        let household = try await a.addHousehold(NewHousehold(address: "同步里2号楼201室", phone: "13800138000"))
        _ = try await a.sync(server: server.url, token: server.tokenA)
        _ = try await b.sync(server: server.url, token: server.tokenB)

        _ = try await a.editHousehold(household.id, HouseholdEdit(phone: "13900000001"))
        _ = try await b.editHousehold(household.id, HouseholdEdit(phone: "13900000002"))
        _ = try await a.sync(server: server.url, token: server.tokenA)
        _ = try await b.sync(server: server.url, token: server.tokenB)
        _ = try await a.sync(server: server.url, token: server.tokenA)

        func state(_ phone: GridworkClient) async throws -> ([String], [String]) {
            let households = try await phone.households()
                .map { "\($0.id)|\($0.address)|\($0.tags)|\($0.residents)" }.sorted()
            let conflicts = try await phone.conflicts()
                .map { "\($0.record)|\($0.recordId)|\($0.field)|\($0.values.map(\.value).sorted())" }.sorted()
            return (households, conflicts)
        }
        let stateA = try await state(a)
        let stateB = try await state(b)
        XCTAssertEqual(stateA.0, stateB.0)
        XCTAssertEqual(stateA.1, stateB.1)
        let ours = try await a.conflicts().filter { $0.household == household.id }
        XCTAssertEqual(ours.map(\.field), ["phone"])
        XCTAssertEqual(ours.first?.values.map(\.value).sorted(), ["13900000001", "13900000002"])
    }

    func testConcurrentHazardSeverityEditsAreAConflictResolvedOnBothPhones() async throws {
        let server = try server()
        let dir = try temporaryDirectory()
        let a = try await phone(dir, "a.db", worker: "gw-a")
        let b = try await phone(dir, "b.db", worker: "gw-b")
        let hazard = try await a.reportHazard(NewHazard(
            category: "消防安全", severity: "medium", location: nil, place: "",
            description: "冲突里楼道堆物", household: nil, deadline: nil, photos: []))
        _ = try await a.sync(server: server.url, token: server.tokenA)
        _ = try await b.sync(server: server.url, token: server.tokenB)

        // Offline on both phones: the same field of the same hazard.
        try await a.editHazard(hazard.id, HazardEdit(severity: "high"))
        try await b.editHazard(hazard.id, HazardEdit(severity: "low"))
        _ = try await a.sync(server: server.url, token: server.tokenA)
        let bSync = try await b.sync(server: server.url, token: server.tokenB)
        let aSync = try await a.sync(server: server.url, token: server.tokenA)
        XCTAssertEqual(bSync.newConflicts, 1, "B sees A's concurrent edit")
        XCTAssertEqual(aSync.newConflicts, 1, "A sees B's concurrent edit")

        let onA = try await a.conflicts().filter { $0.recordId == hazard.id }
        let onB = try await b.conflicts().filter { $0.recordId == hazard.id }
        XCTAssertEqual(onA, onB)
        XCTAssertEqual(onA.map(\.record), ["hazard"])
        XCTAssertEqual(onA.map(\.field), ["severity"])
        XCTAssertNil(onA.first?.household, "the hazard names no household")
        XCTAssertEqual(onA.first?.values.map { "\($0.value)|\($0.by)" }.sorted(), ["high|gw-a", "low|gw-b"])

        // Only one of the conflicting values can be chosen.
        let notOffered = await apiError {
            try await a.resolveRecordConflict(record: "hazard", recordId: hazard.id, field: "severity", value: "medium")
        }
        guard case .Validation(let field, _)? = notOffered else { return XCTFail("\(String(describing: notOffered))") }
        XCTAssertEqual(field, "value")

        // Choosing on A reaches B and clears the conflict on both.
        try await a.resolveRecordConflict(record: "hazard", recordId: hazard.id, field: "severity", value: "low")
        _ = try await a.sync(server: server.url, token: server.tokenA)
        _ = try await b.sync(server: server.url, token: server.tokenB)
        for phone in [a, b] {
            let left = try await phone.conflicts().filter { $0.recordId == hazard.id }
            XCTAssertTrue(left.isEmpty, "conflict cleared")
            let shown = try await phone.hazard(hazard.id)
            XCTAssertEqual(shown.severity, .low)
        }
    }

    func testConcurrentCaseTransitionsApplyTheFirstAndListAWorkflowConflict() async throws {
        let server = try server()
        let dir = try temporaryDirectory()
        let a = try await phone(dir, "a.db", worker: "gw-a")
        let b = try await phone(dir, "b.db", worker: "gw-b")
        let opened = try await a.openCase(NewCase(
            channel: "", category: "环境卫生", description: "流程里楼道堆物", urgency: "",
            household: nil, resident: nil, openedAt: nil))
        _ = try await a.sync(server: server.url, token: server.tokenA)
        _ = try await b.sync(server: server.url, token: server.tokenB)

        // Offline on both phones, A first: A registers the case, then B escalates it.
        _ = try await a.transitionCase(opened.id, to: "registered", note: "已受理")
        try await Task.sleep(nanoseconds: 200_000_000)
        _ = try await b.transitionCase(opened.id, to: "escalated", note: "上报社区")
        _ = try await a.sync(server: server.url, token: server.tokenA)
        _ = try await b.sync(server: server.url, token: server.tokenB)
        _ = try await a.sync(server: server.url, token: server.tokenA)

        for phone in [a, b] {
            let shown = try await phone.caseRecord(opened.id)
            XCTAssertEqual(shown.status, .registered, "the first transition by time applies")
            XCTAssertEqual(shown.transitions.map(\.to), ["registered", "escalated"], "both are kept")
        }
        let onA = try await a.conflicts().filter { $0.recordId == opened.id }
        let onB = try await b.conflicts().filter { $0.recordId == opened.id }
        XCTAssertEqual(onA, onB)
        XCTAssertEqual(onA.map(\.record), ["case"])
        XCTAssertEqual(onA.map(\.field), ["workflow"])
        XCTAssertEqual(onA.first?.values.map { "\($0.value)|\($0.by)" }, ["collected→escalated|gw-b"])

        // A later transition that applies clears it.
        _ = try await a.transitionCase(opened.id, to: "handling", note: "即接即办")
        _ = try await a.sync(server: server.url, token: server.tokenA)
        _ = try await b.sync(server: server.url, token: server.tokenB)
        for phone in [a, b] {
            let shown = try await phone.caseRecord(opened.id)
            XCTAssertEqual(shown.status, .handling)
            let left = try await phone.conflicts().filter { $0.recordId == opened.id }
            XCTAssertTrue(left.isEmpty, "workflow conflict cleared")
        }
    }

    func testATokenOfAnotherWorkerRaisesWrongAccountAndNothingMoves() async throws {
        let server = try server()
        let dir = try temporaryDirectory()
        let a = try await phone(dir, "a.db", worker: "gw-a")
        let b = try await phone(dir, "b.db", worker: "gw-b")
        // The server holds a household of G1 that A could receive.
        let theirs = try await b.addHousehold(NewHousehold(address: "账号里1号楼101室"))
        _ = try await b.sync(server: server.url, token: server.tokenB)
        let ours = try await a.addHousehold(NewHousehold(address: "账号里1号楼102室"))

        let error = await apiError { try await a.sync(server: server.url, token: server.tokenB) }
        guard case .WrongAccount(let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.contains("gw-a") && reason.contains("gw-b"), reason)
        let held = try await a.households().map(\.id)
        XCTAssertEqual(held, [ours.id], "nothing was received")
        let offset = try await a.clockOffset()
        XCTAssertNil(offset, "no answer of the server was applied")

        // With its own token the same phone sends its household and receives B's.
        let summary = try await a.sync(server: server.url, token: server.tokenA)
        XCTAssertGreaterThan(summary.docsUp, 0)
        let received = try await a.household(theirs.id)
        XCTAssertEqual(received.address, "账号里1号楼101室")
        let learnt = try await a.clockOffset()
        XCTAssertNotNil(learnt, "the offset is learnt at the sync")
    }

    func testABadTokenRaisesAuth() async throws {
        let server = try server()
        let dir = try temporaryDirectory()
        let a = try await phone(dir, "a.db")
        let error = await apiError { try await a.sync(server: server.url, token: "not-a-token") }
        XCTAssertEqual(error, .Auth)
    }

    func testACancelledSyncStops() async throws {
        let server = try server()
        let dir = try temporaryDirectory()
        let a = try await phone(dir, "a.db")
        _ = try await a.addHousehold(NewHousehold(address: "同步里4号楼401室"))

        // The generated API: a handle cancelled before the call.
        let cancel = SyncCancel()
        cancel.cancel()
        XCTAssertTrue(cancel.isCancelled())
        let error = await apiError {
            try await a.store.sync(serverUrl: server.url.absoluteString, token: server.tokenA, listener: nil, cancel: cancel)
        }
        XCTAssertEqual(error, .Cancelled)

        // The wrapper: cancelling the task cancels the sync.
        let task = Task { () async throws -> SyncSummary in
            _ = withUnsafeCurrentTask { $0?.cancel() }
            return try await a.sync(server: server.url, token: server.tokenA)
        }
        do {
            _ = try await task.value
            XCTFail("a cancelled task's sync finished")
        } catch is CancellationError {
            // expected
        }

        // Nothing was lost: the next sync sends the household.
        let summary = try await a.sync(server: server.url, token: server.tokenA)
        XCTAssertGreaterThan(summary.docsUp, 0)
    }
}
