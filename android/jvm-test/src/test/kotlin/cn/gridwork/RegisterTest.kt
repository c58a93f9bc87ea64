package cn.gridwork

import cn.gridwork.core.ApiException
import cn.gridwork.core.DueStatus
import cn.gridwork.core.Gender
import cn.gridwork.core.Outcome
import cn.gridwork.core.ReminderKind
import cn.gridwork.core.SpecialGroup
import cn.gridwork.core.VisitInterval
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.time.ZoneId

/** The household register, residents, visits, validation and forms through the generated API. */
class RegisterTest {
    private val dayMs = 24L * 60 * 60 * 1000

    @Test
    fun `a store must be initialised before use, and only once`(@TempDir dir: Path) {
        openStore(dir).use { store ->
            assertThrows<ApiException.NotInitialized> { store.device() }
            assertThrows<ApiException.NotInitialized> { store.addHousehold(newHousehold(address = "幸福里1号")) }
            val device = store.init("gw-a", "张三", "G1")
            assertEquals("gw-a", device.workerId)
            assertEquals("G1", device.grid)
            assertTrue(device.actor.isNotEmpty())
            assertEquals(device, store.device())
            assertThrows<ApiException.Conflict> { store.init("gw-b", "李四", "G1") }
        }
    }

    @Test
    fun `reinit moves a clean store to another grid and refuses while a change is unsynced`(@TempDir dir: Path) {
        initialisedStore(dir, "gw-a", "G1").use { store ->
            val first = store.device()
            assertNull(store.clockOffset(), "never synced")
            assertTrue(store.quarantinedDocs().isEmpty())
            assertTrue(store.readOnlyDocs().isEmpty())

            // Nothing recorded yet: reinit switches owner and grid.
            val moved = store.reinit("gw-c", "网格员 gw-c", "G2")
            assertEquals("gw-c", moved.workerId)
            assertEquals("G2", moved.grid)
            assertNotEquals(first.actor, moved.actor, "a new device actor")
            assertEquals(moved, store.device())

            // A household not yet synced: reinit refuses and changes nothing.
            val h = store.addHousehold(newHousehold(address = "重置里1号楼101室"))
            assertEquals("G2", h.grid)
            val refused = assertThrows<ApiException.Conflict> { store.reinit("gw-a", "网格员 gw-a", "G1") }
            assertTrue(refused.reason.isNotBlank())
            assertEquals(moved, store.device(), "the owner is unchanged")
            assertEquals(listOf(h.id), store.listHouseholds().map { it.id }, "the household is kept")
            assertEquals(h, store.household(h.id))

            // Discarding the unsynced work is the deliberate way out.
            val back = store.reinitDiscardingUnsynced("gw-a", "网格员 gw-a", "G1")
            assertEquals("gw-a", back.workerId)
            assertEquals("G1", back.grid)
            assertEquals(back, store.device())
            assertTrue(store.listHouseholds().isEmpty())
            assertThrows<ApiException.NotFound> { store.household(h.id) }
            assertTrue(store.check().ok)
            // Still validated like init.
            val invalid = assertThrows<ApiException.Validation> { store.reinit("gw-a", "网格员 gw-a", "") }
            assertTrue(invalid.field.isNotBlank())
            assertEquals(back, store.device())
        }
    }

    @Test
    fun `households, residents with GB 11643 ID numbers and a visit round-trip`(@TempDir dir: Path) {
        initialisedStore(dir).use { store ->
            val elderly = store.addHousehold(
                newHousehold(
                    address = "幸福里1号楼101室",
                    representative = "王奶奶",
                    phone = "138 0013 8000",
                    tags = listOf("elderly_alone"),
                ),
            )
            val family = store.addHousehold(newHousehold(address = "幸福里1号楼102室", tags = listOf("低保对象")))
            assertEquals(listOf(SpecialGroup.ELDERLY_ALONE), elderly.tags)
            assertEquals(listOf(SpecialGroup.LOW_INCOME), family.tags, "Chinese labels are accepted")
            assertEquals("13800138000", elderly.phone, "the phone is normalised")
            assertEquals("G1", elderly.grid)

            // A valid ID number (check digit X); the birth date is taken from it.
            val resident = store.addResident(
                elderly.id,
                newResident(name = "王秀英", idNumber = "11010519491231002X", gender = "female", relation = "本人"),
            )
            assertEquals("1949-12-31", resident.birthDate)
            assertEquals(Gender.FEMALE, resident.gender)
            // The same number with a wrong check digit is refused, naming the field.
            val bad = assertThrows<ApiException.Validation> {
                store.addResident(elderly.id, newResident(name = "王小明", idNumber = "110105194912310021"))
            }
            assertEquals("id_number", bad.field)
            assertTrue(bad.reason.isNotBlank())
            assertTrue(!bad.reason.contains("110105194912310021"), "no personal data in the error")
            assertEquals(listOf("王秀英"), store.household(elderly.id).residents.map { it.name })

            // A visit with checklist answers, read back.
            val visit = store.recordVisit(
                newVisit(
                    household = elderly.id,
                    answers = listOf(
                        checklistAnswer("sanitation"),
                        checklistAnswer("elderly_alone", Outcome.PROBLEM, "独居老人腿脚不便，需要助餐"),
                    ),
                    note = "上门走访",
                ),
            )
            assertEquals(elderly.id, visit.household)
            assertEquals("gw-a", visit.worker)
            val visits = store.listVisits(elderly.id)
            assertEquals(listOf(visit.id), visits.map { it.id })
            val stored = visits.single()
            assertEquals("上门走访", stored.note)
            val answers = stored.answers.associateBy { it.item }
            assertEquals(Outcome.OK, answers.getValue("sanitation").outcome)
            assertEquals(Outcome.PROBLEM, answers.getValue("elderly_alone").outcome)
            assertEquals("独居老人腿脚不便，需要助餐", answers.getValue("elderly_alone").note)
            assertTrue(store.listVisits(family.id).isEmpty())

            // An unknown checklist item is refused with its field.
            val unknown = assertThrows<ApiException.Validation> {
                store.recordVisit(newVisit(elderly.id, answers = listOf(checklistAnswer("no_such_item"))))
            }
            assertTrue(unknown.field.startsWith("answers"), unknown.field)
            assertEquals(1, store.listVisits(elderly.id).size)

            val summary = store.listHouseholds().single { it.id == elderly.id }
            assertEquals(visit.startedAt, summary.lastVisitAt)
            assertEquals(1u, summary.residents)
            assertTrue(store.check().ok)
        }
    }

    @Test
    fun `a validation error names the field and stores nothing`(@TempDir dir: Path) {
        initialisedStore(dir).use { store ->
            store.addHousehold(newHousehold(address = "幸福里2号楼101室"))
            val before = store.listHouseholds()

            val phone = assertThrows<ApiException.Validation> {
                store.addHousehold(newHousehold(address = "幸福里2号楼102室", phone = "12345"))
            }
            assertEquals("phone", phone.field)
            assertTrue(phone.message.contains("phone"), "Throwable.message carries the field: ${phone.message}")

            val address = assertThrows<ApiException.Validation> { store.addHousehold(newHousehold(address = "  ")) }
            assertEquals("address", address.field)

            val tag = assertThrows<ApiException.Validation> {
                store.addHousehold(newHousehold(address = "幸福里2号楼103室", tags = listOf("no_such_group")))
            }
            assertTrue(tag.field.startsWith("tag"), tag.field)

            assertEquals(before, store.listHouseholds(), "nothing was stored")
            val notFound = assertThrows<ApiException.NotFound> {
                store.household("00000000-0000-0000-0000-000000000000")
            }
            assertEquals("household", notFound.kind)
        }
    }

    @Test
    fun `due visits put overdue and special groups first`(@TempDir dir: Path) {
        initialisedStore(dir).use { store ->
            val today = todayInShanghai()
            // Registered first, no special group: due from its registration day.
            val plain = store.addHousehold(newHousehold(address = "幸福里3号楼101室"))
            // Elderly living alone, never visited: due today too, but listed before `plain`.
            val elderly = store.addHousehold(newHousehold(address = "幸福里3号楼102室", tags = listOf("elderly_alone")))
            // Elderly, last visited ten days ago: weekly interval, so three days overdue.
            val lapsed = store.addHousehold(newHousehold(address = "幸福里3号楼103室", tags = listOf("elderly_alone")))
            val tenDaysAgo = today.minusDays(10).atTime(10, 0).atZone(ZoneId.of("Asia/Shanghai")).toInstant().toEpochMilli()
            store.recordVisit(newVisit(lapsed.id, startedAt = tenDaysAgo, endedAt = tenDaysAgo + 30 * 60 * 1000))

            val due = store.dueVisits()
            assertEquals(listOf(lapsed.id, elderly.id, plain.id), due.map { it.household.id })
            assertEquals(DueStatus.OVERDUE, due[0].household.dueStatus)
            assertEquals(3L, due[0].daysOverdue)
            assertEquals(today.minusDays(3).toString(), due[0].household.nextVisitDue)
            for (entry in due.drop(1)) {
                assertEquals(DueStatus.DUE, entry.household.dueStatus)
                assertEquals(0L, entry.daysOverdue)
                assertEquals(today.toString(), entry.household.nextVisitDue, "never visited: due from registration")
                assertNull(entry.household.lastVisitAt)
            }
            assertEquals(VisitInterval.WEEKLY, due[1].household.visitInterval)
            assertEquals(VisitInterval.QUARTERLY, due[2].household.visitInterval)

            // Visiting the elderly household today moves it a week ahead, off the list.
            store.recordVisit(newVisit(elderly.id, answers = listOf(checklistAnswer("elderly_alone"))))
            assertEquals(listOf(lapsed.id, plain.id), store.dueVisits().map { it.household.id })
            val visited = store.listHouseholds().single { it.id == elderly.id }
            assertEquals(DueStatus.NOT_DUE, visited.dueStatus)
            assertEquals(today.plusDays(7).toString(), visited.nextVisitDue)
        }
    }

    @Test
    fun `reminders list the due visit and the first-response clock soonest first`(@TempDir dir: Path) {
        initialisedStore(dir).use { store ->
            val h = store.addHousehold(newHousehold(address = "幸福里6号楼601室"))
            val case = store.openCase(newCase(category = "环境卫生", description = "提醒里楼道堆物"))
            val reminders = store.reminders(30u)
            assertEquals(
                listOf(ReminderKind.VISIT_DUE to h.id.toString(), ReminderKind.CASE_RESPONSE to case.id.toString()),
                reminders.map { it.kind to it.id },
            )
            assertEquals(case.openedAt + 30 * 60 * 1000, reminders[1].dueAt)
            assertEquals(false, reminders[1].overdue)
            store.transitionCase(case.id, "registered", "")
            assertEquals(listOf(ReminderKind.VISIT_DUE), store.reminders(30u).map { it.kind })
        }
    }

    @Test
    fun `form answers are validated per field with labels`(@TempDir dir: Path) {
        initialisedStore(dir).use { store ->
            val template = store.templates().single { it.id == "duty-sanitation" && it.newest }
            assertEquals("builtin", template.source)
            assertTrue(store.templateJson("duty-sanitation", null).contains("\"place\""))

            // checked_at is not a date, place and area_type are missing, problems is not a list.
            val invalid = assertThrows<ApiException.InvalidForm> {
                store.fillForm(
                    "duty-sanitation",
                    null,
                    "3栋楼道",
                    """{"checked_at": "not a date", "problems": "maybe"}""",
                )
            }
            val byField = invalid.errors.associateBy { it.field }
            assertEquals(setOf("answers.checked_at", "answers.place", "answers.area_type", "answers.problems"), byField.keys)
            assertEquals("地点 / Place", byField.getValue("answers.place").label)
            assertEquals("巡查日期 / Date checked", byField.getValue("answers.checked_at").label)
            assertTrue(invalid.errors.all { it.message.isNotBlank() })
            assertTrue(invalid.summary.contains("answers.place"), invalid.summary)
            assertTrue(store.listFormRecords(null).isEmpty(), "nothing was stored")

            // Not a JSON object at all.
            val notJson = assertThrows<ApiException.Validation> { store.fillForm("duty-sanitation", null, "x", "[1, 2]") }
            assertEquals("answers", notJson.field)

            // Valid answers are stored and read back.
            val record = store.fillForm(
                "duty-sanitation",
                null,
                "3栋楼道",
                """{"checked_at": "${todayInShanghai()}", "place": "3栋楼道", "area_type": "residential", "problems": ["exposed_waste"], "handling": "cleaned"}""",
            )
            assertEquals("duty-sanitation", record.template.id)
            assertEquals(template.version, record.template.version)
            assertEquals(listOf(record), store.listFormRecords("duty-sanitation"))
            assertTrue(record.answersJson.contains("\"place\":\"3栋楼道\""), record.answersJson)
        }
    }
}
