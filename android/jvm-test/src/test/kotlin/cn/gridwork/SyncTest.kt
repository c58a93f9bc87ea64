package cn.gridwork

import cn.gridwork.core.ApiException
import cn.gridwork.core.SyncCancel
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

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
}
