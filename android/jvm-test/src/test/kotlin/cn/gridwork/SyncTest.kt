package cn.gridwork

import cn.gridwork.core.ApiException
import cn.gridwork.core.CaseState
import cn.gridwork.core.Severity
import cn.gridwork.core.SyncCancel
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import kotlin.math.abs

/**
 * Sync against the real server of bindings/with-test-server.sh through the generated
 * suspend API (called with runBlocking, see [syncNow]): phones A and B are gw-a and gw-b of grid G1, each a fresh store.
 */
class SyncTest {
    @Test
    fun `a household added on phone A reaches phone B`(@TempDir dir: Path) {
        val server = TestServer.require()
        initialisedStore(dir.sub("a"), "gw-a").use { a ->
            initialisedStore(dir.sub("b"), "gw-b").use { b ->
                val household = a.addHousehold(
                    newHousehold(address = "同步里1号楼101室", phone = "13800138000", tags = listOf("elderly_alone")),
                )
                a.addResident(household.id, newResident(name = "赵大爷", idNumber = "11010519491231002X"))

                val progress = RecordingListener()
                val up = a.syncNow(server, TestServer.token('A'), progress, null)
                assertTrue(up.docsUp > 0u, "docs pushed: $up")
                assertTrue(up.roundTrips >= 1u)
                assertTrue(up.bytesUp > 0uL)
                assertTrue(up.rejected.isEmpty(), "rejected: ${up.rejected}")
                assertTrue(progress.reports.isNotEmpty(), "progress reported")
                assertEquals(up.roundTrips, progress.reports.last().roundTrips)
                assertEquals(false, progress.reports.last().more)

                val down = b.syncNow(server, TestServer.token('B'), null, null)
                assertTrue(down.docsDown > 0u, "docs received: $down")
                val seen = b.household(household.id)
                assertEquals("同步里1号楼101室", seen.address)
                assertEquals(listOf("赵大爷"), seen.residents.map { it.name })
                assertEquals(a.household(household.id), seen)

                // Nothing new: a second sync of A moves nothing up.
                assertEquals(0u, a.syncNow(server, TestServer.token('A'), null, null).docsUp)
            }
        }
    }

    @Test
    fun `concurrent edits of one field converge and are listed as a conflict on both phones`(@TempDir dir: Path) {
        val server = TestServer.require()
        val tokenA = TestServer.token('A')
        val tokenB = TestServer.token('B')
        initialisedStore(dir.sub("a"), "gw-a").use { a ->
            initialisedStore(dir.sub("b"), "gw-b").use { b ->
                val h = a.addHousehold(newHousehold(address = "冲突里2号楼201室", phone = "13800138000")).id
                a.syncNow(server, tokenA, null, null)
                b.syncNow(server, tokenB, null, null)
                assertEquals("13800138000", b.household(h).phone)

                // Offline on both phones: the same field.
                a.editHousehold(h, householdEdit(phone = "13900000001"))
                b.editHousehold(h, householdEdit(phone = "13900000002", addTags = listOf("disabled")))

                a.syncNow(server, tokenA, null, null)
                val bSync = b.syncNow(server, tokenB, null, null)
                val aSync = a.syncNow(server, tokenA, null, null)
                assertEquals(1u, bSync.newConflicts, "B sees A's concurrent edit")
                assertEquals(1u, aSync.newConflicts, "A sees B's concurrent edit")

                // Identical state on both phones.
                val onA = a.household(h)
                assertEquals(onA, b.household(h))
                assertEquals(a.listHouseholds(), b.listHouseholds())
                assertTrue(onA.phone in setOf("13900000001", "13900000002"), onA.phone)
                assertEquals("disabled", onA.tags.single().name.lowercase())

                val conflictsA = a.conflicts().filter { it.household == h }
                assertEquals(conflictsA, b.conflicts().filter { it.household == h })
                val conflict = conflictsA.single()
                assertEquals("phone", conflict.field)
                assertEquals(null, conflict.resident)
                assertEquals(setOf("13900000001", "13900000002"), conflict.values.map { it.value }.toSet())
                assertEquals(setOf("gw-a", "gw-b"), conflict.values.map { it.by }.toSet())

                // Resolving on A reaches B and clears the conflict there.
                a.resolveConflict(h, null, "phone", "13900000002")
                a.syncNow(server, tokenA, null, null)
                b.syncNow(server, tokenB, null, null)
                assertTrue(b.conflicts().none { it.household == h })
                assertEquals("13900000002", b.household(h).phone)
            }
        }
    }

    @Test
    fun `concurrent hazard severity edits are a hazard conflict that resolveRecordConflict clears on both phones`(@TempDir dir: Path) {
        val server = TestServer.require()
        val tokenA = TestServer.token('A')
        val tokenB = TestServer.token('B')
        initialisedStore(dir.sub("a"), "gw-a").use { a ->
            initialisedStore(dir.sub("b"), "gw-b").use { b ->
                val hazard = a.reportHazard(newHazard(category = "消防安全", description = "冲突里楼道堆物", severity = "medium"))
                val id = hazard.id
                a.syncNow(server, tokenA)
                b.syncNow(server, tokenB)
                assertEquals(Severity.MEDIUM, b.hazard(id).severity)

                // Offline on both phones: the same field of the same hazard.
                assertEquals(Severity.HIGH, a.editHazard(id, hazardEdit(severity = "high")).severity)
                assertEquals(Severity.LOW, b.editHazard(id, hazardEdit(severity = "low")).severity)

                a.syncNow(server, tokenA)
                val bSync = b.syncNow(server, tokenB)
                val aSync = a.syncNow(server, tokenA)
                assertTrue(aSync.rejected.isEmpty() && bSync.rejected.isEmpty(), "rejected: $aSync $bSync")
                assertEquals(1u, bSync.newConflicts, "B sees A's concurrent edit")
                assertEquals(1u, aSync.newConflicts, "A sees B's concurrent edit")
                assertEquals(a.hazard(id), b.hazard(id), "both phones show the same hazard")

                val onA = a.conflicts().filter { it.recordId == id }
                assertEquals(onA, b.conflicts().filter { it.recordId == id })
                val conflict = onA.single()
                assertEquals("hazard", conflict.record)
                assertEquals("severity", conflict.field)
                assertNull(conflict.household, "the hazard names no household")
                assertNull(conflict.resident)
                assertEquals(setOf("high" to "gw-a", "low" to "gw-b"), conflict.values.map { it.value to it.by }.toSet())

                // Only one of the conflicting values can be chosen.
                val notOffered = assertThrows<ApiException.Validation> {
                    a.resolveRecordConflict("hazard", id, "severity", "medium")
                }
                assertEquals("value", notOffered.field)

                // Choosing on A reaches B and clears the conflict on both.
                a.resolveRecordConflict("hazard", id, "severity", "low")
                assertTrue(a.conflicts().none { it.recordId == id })
                a.syncNow(server, tokenA)
                b.syncNow(server, tokenB)
                for (phone in listOf(a, b)) {
                    assertTrue(phone.conflicts().none { it.recordId == id }, "conflict cleared")
                    assertEquals(Severity.LOW, phone.hazard(id).severity)
                }
                assertThrows<ApiException.NotFound> { b.resolveRecordConflict("hazard", id, "severity", "low") }
            }
        }
    }

    @Test
    fun `concurrent case transitions apply the first by time and list the other as a workflow conflict`(@TempDir dir: Path) {
        val server = TestServer.require()
        val tokenA = TestServer.token('A')
        val tokenB = TestServer.token('B')
        initialisedStore(dir.sub("a"), "gw-a").use { a ->
            initialisedStore(dir.sub("b"), "gw-b").use { b ->
                val id = a.openCase(newCase(category = "环境卫生", description = "流程里楼道堆物")).id
                a.syncNow(server, tokenA)
                b.syncNow(server, tokenB)
                assertEquals(CaseState.COLLECTED, b.case(id).status)

                // Offline on both phones, A first: A registers the case, then B escalates it.
                a.transitionCase(id, "registered", "已受理")
                Thread.sleep(200)
                b.transitionCase(id, "escalated", "上报社区")

                a.syncNow(server, tokenA)
                b.syncNow(server, tokenB)
                a.syncNow(server, tokenA)
                for (phone in listOf(a, b)) {
                    val case = phone.case(id)
                    assertEquals(CaseState.REGISTERED, case.status, "the first transition by time applies")
                    assertEquals(listOf("registered", "escalated"), case.transitions.map { it.to }, "both are kept")
                }
                val onA = a.conflicts().filter { it.recordId == id }
                assertEquals(onA, b.conflicts().filter { it.recordId == id })
                val conflict = onA.single()
                assertEquals("case", conflict.record)
                assertEquals("workflow", conflict.field)
                assertEquals(listOf("collected→escalated" to "gw-b"), conflict.values.map { it.value to it.by })

                // A workflow conflict is not resolved by choosing a value ...
                val choose = assertThrows<ApiException.Validation> {
                    a.resolveRecordConflict("case", id, "workflow", "collected→escalated")
                }
                assertEquals("field", choose.field)
                // ... but by a later transition that applies.
                a.transitionCase(id, "handling", "即接即办")
                a.syncNow(server, tokenA)
                b.syncNow(server, tokenB)
                for (phone in listOf(a, b)) {
                    assertEquals(CaseState.HANDLING, phone.case(id).status)
                    assertTrue(phone.conflicts().none { it.recordId == id }, "workflow conflict cleared")
                }
            }
        }
    }

    @Test
    fun `a token of another worker is refused with WrongAccount and nothing is exchanged`(@TempDir dir: Path) {
        val server = TestServer.require()
        val tokenA = TestServer.token('A')
        val tokenB = TestServer.token('B')
        initialisedStore(dir.sub("a"), "gw-a").use { a ->
            initialisedStore(dir.sub("b"), "gw-b").use { b ->
                // The server holds a household of G1 that A could receive.
                val theirs = b.addHousehold(newHousehold(address = "账号里1号楼101室"))
                b.syncNow(server, tokenB)
                val ours = a.addHousehold(newHousehold(address = "账号里1号楼102室"))

                val progress = RecordingListener()
                val refused = assertThrows<ApiException.WrongAccount> { a.syncNow(server, tokenB, progress) }
                assertTrue(refused.reason.contains("gw-a") && refused.reason.contains("gw-b"), refused.reason)
                assertTrue(progress.reports.isEmpty(), "no round trip was applied")
                assertEquals(listOf(ours.id), a.listHouseholds().map { it.id }, "nothing was received")
                assertThrows<ApiException.NotFound> { a.household(theirs.id) }
                assertNull(a.clockOffset(), "no answer of the server was applied")
                b.syncNow(server, tokenB)
                assertThrows<ApiException.NotFound> { b.household(ours.id) }

                // With its own token the same phone sends its household and receives B's.
                assertTrue(a.syncNow(server, tokenA).docsUp > 0u)
                assertEquals("账号里1号楼101室", a.household(theirs.id).address)
                b.syncNow(server, tokenB)
                assertEquals("账号里1号楼102室", b.household(ours.id).address)
            }
        }
    }

    @Test
    fun `a phone initialised for the wrong grid is refused and starts over with reinit`(@TempDir dir: Path) {
        val server = TestServer.require()
        val tokenA = TestServer.token('A')
        // gw-a works in G1, but the phone was set up for G2 and recorded a household offline.
        initialisedStore(dir, "gw-a", "G2").use { phone ->
            val offline = phone.addHousehold(newHousehold(address = "设置里1号楼101室"))
            assertThrows<ApiException.WrongAccount> { phone.syncNow(server, tokenA) }
            assertEquals("G2", phone.device().grid)

            // reinit refuses while the household is unsynced, and changes nothing.
            val refused = assertThrows<ApiException.Conflict> { phone.reinit("gw-a", "网格员 gw-a", "G1") }
            assertTrue(refused.reason.isNotBlank())
            assertEquals("G2", phone.device().grid)
            assertEquals(listOf(offline.id), phone.listHouseholds().map { it.id })

            // Discarding it deliberately, the phone syncs as gw-a of G1.
            assertEquals("G1", phone.reinitDiscardingUnsynced("gw-a", "网格员 gw-a", "G1").grid)
            assertThrows<ApiException.NotFound> { phone.household(offline.id) }
            assertNull(phone.clockOffset())
            val first = phone.syncNow(server, tokenA)
            assertTrue(first.rejected.isEmpty(), "rejected: ${first.rejected}")
            assertTrue(first.quarantined.isEmpty() && first.readOnly.isEmpty(), "$first")
            val offset = checkNotNull(phone.clockOffset()) { "the offset is learnt at the sync" }
            assertTrue(abs(offset) < 60_000, "same host, same clock: $offset ms")

            // Synced, the store is clean: reinit (keeping nothing unsynced) moves it to G2.
            val h = phone.addHousehold(newHousehold(address = "设置里1号楼102室"))
            phone.syncNow(server, tokenA)
            val moved = phone.reinit("gw-c", "网格员 gw-c", "G2")
            assertEquals("gw-c", moved.workerId)
            assertEquals("G2", moved.grid)
            assertEquals(moved, phone.device())
            assertNull(phone.clockOffset(), "the offset learnt before is forgotten")
            assertTrue(phone.listHouseholds().isEmpty())
            assertTrue(phone.syncNow(server, TestServer.token('C')).rejected.isEmpty())
            assertThrows<ApiException.NotFound> { phone.household(h.id) }
            assertTrue(phone.check().ok)
        }
    }

    @Test
    fun `a bad token is an Auth error`(@TempDir dir: Path) {
        val server = TestServer.require()
        initialisedStore(dir, "gw-a").use { a ->
            a.addHousehold(newHousehold(address = "鉴权里1号"))
            assertThrows<ApiException.Auth> { a.syncNow(server, "not-a-token", null, null) }
            // Nothing was lost: the household still goes up with the right token.
            assertTrue(a.syncNow(server, TestServer.token('A'), null, null).docsUp > 0u)
        }
    }

    @Test
    fun `an unreachable server is a Network error`(@TempDir dir: Path) {
        initialisedStore(dir, "gw-a").use { a ->
            // Port 1 on loopback: nothing listens there, the connection is refused.
            val error = assertThrows<ApiException.Network> {
                a.syncNow("http://127.0.0.1:1", "token", null, null)
            }
            assertTrue(error.reason.isNotBlank())
        }
    }

    @Test
    fun `a sync cancelled before it starts throws Cancelled and sends nothing`(@TempDir dir: Path) {
        val server = TestServer.require()
        initialisedStore(dir, "gw-a").use { a ->
            a.addHousehold(newHousehold(address = "取消里1号"))
            SyncCancel().use { cancel ->
                cancel.cancel()
                assertTrue(cancel.isCancelled())
                val progress = RecordingListener()
                assertThrows<ApiException.Cancelled> {
                    a.syncNow(server, TestServer.token('A'), progress, cancel)
                }
                assertTrue(progress.reports.isEmpty())
            }
            // The household is still waiting to go up.
            SyncCancel().use { fresh ->
                assertTrue(a.syncNow(server, TestServer.token('A'), null, fresh).docsUp > 0u)
            }
        }
    }

    @Test
    fun `a photo taken on phone A is uploaded and fetched as the same bytes on phone B`(@TempDir dir: Path) {
        val server = TestServer.require()
        initialisedStore(dir.sub("a"), "gw-a").use { a ->
            initialisedStore(dir.sub("b"), "gw-b").use { b ->
                val image = java.awt.image.BufferedImage(800, 600, java.awt.image.BufferedImage.TYPE_INT_RGB)
                for (x in 0 until 800) for (y in 0 until 600) image.setRGB(x, y, (x * 31 + y * 17) and 0xFFFFFF)
                val png = java.io.ByteArrayOutputStream().also { javax.imageio.ImageIO.write(image, "png", it) }
                val photo = a.attachPhoto(png.toByteArray(), false)
                assertEquals(64, photo.id.length)
                assertEquals(cn.gridwork.core.UploadState.PENDING, photo.state)
                val hazard = a.reportHazard(
                    newHazard(category = "消防安全", description = "楼道堆物（照片）", photos = listOf(photo.id)),
                )
                // A case with a photo of its own.
                val case = a.openCase(newCase(category = "环境卫生", description = "楼道堆物", photos = listOf(photo.id)))
                assertEquals(listOf(photo.id), case.photos)
                a.syncNow(server, TestServer.token('A'), null, null)
                val uploaded = runBlocking { a.uploadPhotos(server, TestServer.token('A')) }
                assertEquals(1u, uploaded.uploaded, "$uploaded")
                assertEquals(0u, a.uploadQueue().pending)

                b.syncNow(server, TestServer.token('B'), null, null)
                assertEquals(listOf(photo.id), b.hazard(hazard.id).photos)
                assertEquals(listOf(photo.id), b.case(case.id).photos)
                assertNull(b.photoBytes(photo.id))
                val fetched = runBlocking { b.fetchPhoto(server, TestServer.token('B'), photo.id) }
                assertTrue(fetched.contentEquals(a.photoBytes(photo.id)!!))
                assertTrue(b.photoBytes(photo.id)!!.contentEquals(fetched))
            }
        }
    }
}
