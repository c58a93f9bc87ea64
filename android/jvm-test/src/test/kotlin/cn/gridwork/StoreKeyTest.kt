package cn.gridwork

import cn.gridwork.core.ApiException
import cn.gridwork.core.StoreKey
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.nio.file.Path
import java.security.SecureRandom

/** Opening stores with and without a SQLCipher key. */
class StoreKeyTest {
    private val address = "幸福里3号楼502室"

    private fun randomKey(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

    /** Every byte the store left on disk (the database and any WAL / journal beside it). */
    private fun filesOf(dir: Path): List<File> =
        dir.toFile().walkTopDown().filter { it.isFile }.toList()

    @Test
    fun `a store without a key opens, keeps its data and stores text in clear`(@TempDir dir: Path) {
        openStore(dir).use { store ->
            store.init("gw-a", "张三", "G1")
            store.addHousehold(newHousehold(address = address, phone = "13800138000"))
        }
        openStore(dir).use { store ->
            val households = store.listHouseholds()
            assertEquals(listOf(address), households.map { it.address })
            assertEquals("gw-a", store.device().workerId)
        }
        // The control for the encrypted case below: a plain file shows the address.
        val needle = address.toByteArray(Charsets.UTF_8)
        assertTrue(filesOf(dir).any { it.readBytes().contains(needle) }, "plain store holds the address in clear")
    }

    @Test
    fun `a raw 32-byte key encrypts the file and only that key opens it`(@TempDir dir: Path) {
        val key = randomKey()
        val id = openStore(dir, StoreKey.raw(key)).use { store ->
            store.init("gw-a", "张三", "G1")
            store.addHousehold(newHousehold(address = address, representative = "李四", phone = "13800138000")).id
        }

        // The right key (a fresh copy of the same bytes) opens it with everything in it.
        openStore(dir, StoreKey.Raw(key.copyOf())).use { store ->
            val household = store.household(id)
            assertEquals(address, household.address)
            assertEquals("李四", household.representative)
        }

        // A wrong key, no key, or a passphrase instead of the raw key: WrongKey.
        assertThrows<ApiException.WrongKey> { openStore(dir, StoreKey.raw(randomKey())) }
        assertThrows<ApiException.WrongKey> { openStore(dir, null) }
        assertThrows<ApiException.WrongKey> { openStore(dir, StoreKey.passphrase("not the key")) }

        // No file on disk carries the address, the representative or the phone in clear.
        val files = filesOf(dir)
        assertTrue(files.any { it.name == "phone.db" && it.length() > 0 }, "the database file exists: $files")
        for (secret in listOf(address, "李四", "13800138000")) {
            val needle = secret.toByteArray(Charsets.UTF_8)
            for (file in files) {
                assertFalse(file.readBytes().contains(needle), "${file.name} holds \"$secret\" in clear")
            }
        }
        // SQLCipher files start with random salt, not the SQLite magic header.
        val header = File(dir.toFile(), "phone.db").readBytes().copyOfRange(0, 16)
        assertFalse(header.contentEquals("SQLite format 3\u0000".toByteArray(Charsets.US_ASCII)))
    }

    @Test
    fun `a raw key of the wrong length is a validation error on field key`(@TempDir dir: Path) {
        val error = assertThrows<ApiException.Validation> { openStore(dir, StoreKey.raw(ByteArray(16))) }
        assertEquals("key", error.field)
        assertTrue(error.reason.contains("32"), error.reason)
    }

    @Test
    fun `StoreKey helpers build the generated variants`() {
        val bytes = ByteArray(32) { it.toByte() }
        val raw = StoreKey.raw(bytes)
        assertTrue(raw is StoreKey.Raw)
        assertArrayEquals(bytes, (raw as StoreKey.Raw).bytes)
        assertEquals(StoreKey.Passphrase("p"), StoreKey.passphrase("p"))
    }
}
