package cn.gridwork

import cn.gridwork.core.GridworkStore
import cn.gridwork.core.OpenOptions
import cn.gridwork.core.StoreKey
import cn.gridwork.core.SyncListener
import cn.gridwork.core.SyncProgress
import cn.gridwork.core.SyncCancel
import cn.gridwork.core.SyncSummary
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assumptions.assumeTrue
import java.nio.file.Path
import java.time.LocalDate
import java.time.ZoneId
import java.util.concurrent.CopyOnWriteArrayList

/** The test server started by bindings/with-test-server.sh (run.sh always starts one). */
internal object TestServer {
    /** Base URL, or null when the tests run without a server. */
    val url: String? = System.getenv("GRIDWORK_TEST_SERVER")?.takeIf { it.isNotBlank() }

    /** Skip the calling test when no server is running; its URL otherwise. */
    fun require(): String {
        assumeTrue(url != null, "GRIDWORK_TEST_SERVER is unset: run android/jvm-test/run.sh")
        return url!!
    }

    /** Device token of gw-a / gw-b (grid G1) or gw-c (grid G2). */
    fun token(worker: Char): String =
        System.getenv("GRIDWORK_TEST_TOKEN_$worker")?.takeIf { it.isNotBlank() }
            ?: error("GRIDWORK_TEST_TOKEN_$worker is unset")
}

/** Open (or create) `name` in [dir] with the generated API. */
internal fun openStore(dir: Path, key: StoreKey? = null, name: String = "phone.db"): GridworkStore =
    GridworkStore.open(dir.resolve(name).toString(), OpenOptions(key, null))

/** A plain store in [dir] initialised for [worker] of [grid]. */
internal fun initialisedStore(dir: Path, worker: String = "gw-a", grid: String = "G1"): GridworkStore =
    openStore(dir).also { it.init(worker, "网格员 $worker", grid) }

/** Today's date where the store counts days (its default zone). */
internal fun todayInShanghai(): LocalDate = LocalDate.now(ZoneId.of("Asia/Shanghai"))

/** A [SyncListener] that records every progress report. */
internal class RecordingListener : SyncListener {
    val reports: MutableList<SyncProgress> = CopyOnWriteArrayList()
    override fun onProgress(progress: SyncProgress) {
        reports.add(progress)
    }
}

/** Whether [needle] occurs in [haystack]. */
internal fun ByteArray.contains(needle: ByteArray): Boolean {
    if (needle.isEmpty()) return true
    outer@ for (i in 0..size - needle.size) {
        for (j in needle.indices) if (this[i + j] != needle[j]) continue@outer
        return true
    }
    return false
}

/** The generated suspend `sync`, called from a test thread. */
internal fun GridworkStore.syncNow(
    server: String,
    token: String,
    listener: SyncListener? = null,
    cancel: SyncCancel? = null,
): SyncSummary = runBlocking { sync(server, token, listener, cancel) }

/** The directory [name] inside this one, created. */
internal fun Path.sub(name: String): Path = resolve(name).also { java.nio.file.Files.createDirectories(it) }
