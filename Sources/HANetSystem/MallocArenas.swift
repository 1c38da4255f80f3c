import CHANetShim
import Glibc

/// glibc malloc's arenas. By default glibc gives threads that allocate at the
/// same time arenas of their own, up to 8 per core, each keeping its freed
/// memory for reuse: for the daemon (a control queue, the detector scheduler,
/// reader threads, a thread per control connection) that was about 2 MB of
/// resident heap that one arena does not need (tools/soak.py, 10,000
/// switches: [anon] 5.9 MB with the default, 4.9 MB with 2 arenas, 3.7 MB
/// with 1). The threads allocate little and rarely at once, and each still
/// has glibc's per-thread cache (tcache) for small blocks, which takes no lock.
public enum MallocArenas {
    /// Limits malloc to `count` arenas (mallopt M_ARENA_MAX), unless the
    /// operator chose with MALLOC_ARENA_MAX or GLIBC_TUNABLES, which win.
    /// Call before the daemon starts its threads.
    public static func limit(to count: Int32) {
        if getenv("MALLOC_ARENA_MAX") != nil { return }
        if let t = getenv("GLIBC_TUNABLES"), String(cString: t).contains("arena_max") { return }
        _ = hanet_shim_malloc_arena_max(count)
    }
}
