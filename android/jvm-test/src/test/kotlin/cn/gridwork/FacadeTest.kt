package cn.gridwork

import cn.gridwork.core.ApiException
import cn.gridwork.core.Outcome
import cn.gridwork.core.Severity
import cn.gridwork.core.StoreKey
import cn.gridwork.core.SyncProgress
import cn.gridwork.core.Urgency
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.security.SecureRandom
import java.util.UUID
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import kotlin.coroutines.CoroutineContext

/** The coroutine facade of the Android module (android/src/main/kotlin/cn/gridwork/Gridwork.kt). */
class FacadeTest {
    /** Runs blocks on Dispatchers.IO and counts them, to see where the facade's calls go. */
    private class CountingDispatcher : CoroutineDispatcher() {
        val dispatched = AtomicInteger()
        override fun dispatch(context: CoroutineContext, block: Runnable) {
            dispatched.incrementAndGet()
            Dispatchers.IO.dispatch(context, block)
        }
    }

    @Test
    fun `store calls are suspend functions on the given dispatcher with typed errors`(@TempDir dir: Path) = runBlocking<Unit> {
        val io = CountingDispatcher()
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        val path = dir.resolve("phone.db").toString()
        Gridwork.open(path, key = StoreKey.raw(key), dispatcher = io).use { gw ->
            gw.init("gw-a", "张三", "G1")
            val h = gw.addHousehold(newHousehold(address = "门面里1号楼101室", phone = "13800138000", tags = listOf("elderly_alone")))
            gw.addResident(h.id, newResident(name = "钱奶奶", idNumber = "11010519491231002X"))
            gw.recordVisit(newVisit(h.id, answers = listOf(checklistAnswer("elderly_alone", Outcome.PROBLEM, "需要助餐"))))
            assertEquals(1, gw.listVisits(h.id).size)
            assertEquals(listOf(h.id), gw.searchHouseholds(tag = "elderly_alone").map { it.id })
            assertEquals("gw-a", gw.device().workerId)
            assertTrue(gw.dueVisits().none { it.household.id == h.id }, "visited today")

            val error = assertThrows<ApiException.Validation> {
                runBlocking { gw.addHousehold(newHousehold(address = "门面里1号楼102室", phone = "not a phone")) }
            }
            assertEquals("phone", error.field)
            assertEquals(1, gw.listHouseholds().size)

            val form = assertThrows<ApiException.InvalidForm> {
                runBlocking { gw.fillForm("duty-sanitation", answersJson = "{}", subject = "3栋") }
            }
            assertTrue(form.errors.any { it.field == "answers.place" && it.label == "地点 / Place" })

            val case = gw.openCase(newCase(category = "环境卫生", description = "楼道堆物", household = h.id))
            assertEquals("registered", gw.transitionCase(case.id, "registered", "已受理").transitions.last().to)
            assertTrue(gw.check().ok)
        }
        assertTrue(io.dispatched.get() >= 10, "every call went through the dispatcher: ${io.dispatched.get()}")

        // The facade opened an encrypted store: only the same key reopens it.
        assertThrows<ApiException.WrongKey> { runBlocking { Gridwork.open(path, key = null) } }
        Gridwork.open(path, StoreKey.raw(key)).use { assertEquals(1, it.listHouseholds().size) }
    }

    @Test
    fun `record edits, reinit and the forward-compatibility lists are suspend calls on the dispatcher`(@TempDir dir: Path) = runBlocking<Unit> {
        val io = CountingDispatcher()
        Gridwork.open(dir.resolve("phone.db").toString(), key = null, dispatcher = io).use { gw ->
            gw.init("gw-a", "张三", "G1")
            assertNull(gw.clockOffset(), "never synced")
            assertTrue(gw.quarantinedDocs().isEmpty())
            assertTrue(gw.readOnlyDocs().isEmpty())

            val hazard = gw.reportHazard(newHazard(category = "消防安全", description = "楼道堆物", severity = "medium"))
            val edited = gw.editHazard(hazard.id, hazardEdit(severity = "high", place = "3栋楼道"))
            assertEquals(Severity.HIGH, edited.severity)
            assertEquals("3栋楼道", edited.place)
            assertEquals("楼道堆物", edited.description, "fields not given are kept")
            assertEquals(edited, gw.hazard(hazard.id))
            val case = gw.openCase(newCase(category = "环境卫生", description = "垃圾未清运"))
            assertEquals(Urgency.URGENT, gw.editCase(case.id, caseEdit(urgency = "urgent")).urgency)
            assertTrue(gw.conflicts().isEmpty())
            val none = assertThrows<ApiException.NotFound> {
                runBlocking { gw.resolveRecordConflict("hazard", hazard.id, "severity", "high") }
            }
            assertEquals("conflict", none.kind)

            // The hazard and the case are not synced: reinit refuses, discarding works.
            assertThrows<ApiException.Conflict> { runBlocking { gw.reinit("gw-c", "王五", "G2") } }
            assertEquals("G1", gw.device().grid)
            assertEquals(1, gw.listHazards().size)
            val moved = gw.reinitDiscardingUnsynced("gw-c", "王五", "G2")
            assertEquals("G2", moved.grid)
            assertTrue(gw.listHazards().isEmpty() && gw.listCases().isEmpty())
            // Nothing unsynced now: a plain reinit goes through.
            assertEquals("gw-a", gw.reinit("gw-a", "张三", "G1").workerId)
        }
        assertTrue(io.dispatched.get() >= 15, "every call went through the dispatcher: ${io.dispatched.get()}")
    }

    @Test
    fun `sync reports progress to a lambda and returns the summary`(@TempDir dir: Path) = runBlocking<Unit> {
        val server = TestServer.require()
        Gridwork.open(dir.resolve("phone.db").toString(), key = null).use { gw ->
            gw.init("gw-a", "张三", "G1")
            gw.addHousehold(newHousehold(address = "门面里2号楼101室"))
            val reports = CopyOnWriteArrayList<SyncProgress>()
            val summary = gw.sync(server, TestServer.token('A')) { reports.add(it) }
            assertTrue(summary.docsUp > 0u)
            assertTrue(reports.isNotEmpty())
            assertEquals(summary.roundTrips, reports.last().roundTrips)
            assertThrows<ApiException.Auth> { runBlocking { gw.sync(server, "bad-token") } }
            // gw-b's token on gw-a's phone: the server refuses the account.
            assertThrows<ApiException.WrongAccount> { runBlocking { gw.sync(server, TestServer.token('B')) } }
        }
    }

    @Test
    fun `cancelling the coroutine cancels the sync before its next round trip`(@TempDir dir: Path) = runBlocking<Unit> {
        val server = TestServer.require()
        val marker = "批量楼-" + UUID.randomUUID().toString().take(8)
        // More than one page of the server's feed (2,000 docs: PAGE_DOCS in
        // sync-server/src/sync/page.rs).
        val count = 2_100
        Gridwork.open(dir.sub("a").resolve("phone.db").toString(), key = null).use { a ->
            a.init("gw-a", "张三", "G1")
            repeat(count) { a.addHousehold(newHousehold(address = "$marker-$it")) }
            a.sync(server, TestServer.token('A'))
        }
        Gridwork.open(dir.sub("b").resolve("phone.db").toString(), key = null).use { b ->
            b.init("gw-b", "李四", "G1")
            val reports = CopyOnWriteArrayList<SyncProgress>()
            // Started lazily so `job` is assigned before the first progress report.
            lateinit var job: Job
            job = launch(Dispatchers.Default, start = CoroutineStart.LAZY) {
                b.sync(server, TestServer.token('B')) { progress ->
                    reports.add(progress)
                    job.cancel() // the first page is in: cancel from here
                }
            }
            job.start()
            job.join()
            assertTrue(job.isCancelled)
            assertEquals(1, reports.size, "progress after the first round trip only: $reports")
            assertTrue(reports.single().more, "the server had more pages when the sync was cancelled")

            // The core stopped: no further page arrives in the background.
            Thread.sleep(500)
            assertEquals(1, reports.size)
            val received = b.searchHouseholds(text = marker).size
            assertTrue(received < count, "only the first page was applied: $received of $count")

            // The next sync picks up the rest; nothing applied before was lost.
            val rest = b.sync(server, TestServer.token('B'))
            assertTrue(rest.docsDown > 0u, "the rest arrives: $rest")
            assertEquals(count, b.searchHouseholds(text = marker).size)
        }
    }
}
