import CPcap
import Dispatch
import FoundationEssentials
import HANetCore

/// `ARPAnnouncer` and `NAAnnouncer` over libpcap injection: after a switch,
/// neighbours and the switch's FDB must learn the new location of the service
/// address at once, and pcap_inject needs no IP configuration on the slave
/// (nor an IPv6 address on it for an unsolicited NA). Both share one handle
/// per interface.
///
/// Opening a pcap handle costs milliseconds (a packet socket and its ring), so
/// handles are cached per (network namespace, interface); a handle whose
/// interface disappeared is reopened once. The first frame is sent before
/// `announce` returns; the rest are sent from a background queue. Handles are
/// opened in the calling thread's namespace.
public final class GratuitousARP: ARPAnnouncer, NAAnnouncer {
    private struct Key: Hashable {
        var namespace: UInt64
        var interface: String
    }

    private final class Handle {
        let pcap: OpaquePointer
        let lock = Lock()
        init(pcap: OpaquePointer) {
            self.pcap = pcap
        }
        deinit { pcap_close(pcap) }

        func inject(_ frame: [UInt8]) -> String? {
            lock.lock(); defer { lock.unlock() }
            let n = frame.withUnsafeBytes { pcap_inject(pcap, $0.baseAddress, $0.count) }
            if n == Int32(frame.count) { return nil }
            return n < 0 ? String(cString: pcap_geterr(pcap)) : "short write (\(n) of \(frame.count) bytes)"
        }
    }

    private let lock = Lock()
    private var handles: [Key: Handle] = [:]
    private let queue = DispatchQueue(label: "hanet.gratuitous-arp")

    /// Called on a background queue when a repeated announcement fails.
    public var backgroundErrorHandler: ((HANetError) -> Void)?

    public init() {}

    public func announce(address: IPv4Address, mac: MACAddress, on interface: String, count: Int, intervalMillis: Int) throws {
        guard count >= 1 else {
            throw HANetError(.usage, "gratuitous ARP for \(address) on \(interface): count must be at least 1 (got \(count))")
        }
        try send(ARPFrame.gratuitous(address: address, mac: mac), what: "send gratuitous ARP for \(address) (\(mac)) on \(interface)",
                 on: interface, count: count, intervalMillis: intervalMillis)
    }

    public func announceNA(address: IPv6Address, mac: MACAddress, on interface: String, count: Int, intervalMillis: Int) throws {
        guard count >= 1 else {
            throw HANetError(.usage, "unsolicited NA for \(address) on \(interface): count must be at least 1 (got \(count))")
        }
        try send(NDFrame.unsolicitedAdvertisement(target: address, mac: mac),
                 what: "send unsolicited NA for \(address) (\(mac)) on \(interface)", on: interface, count: count,
                 intervalMillis: intervalMillis)
    }

    /// The first frame now, the other `count - 1` from the background queue `intervalMillis` apart.
    private func send(_ frame: [UInt8], what: String, on interface: String, count: Int, intervalMillis: Int) throws {
        var handle = try self.handle(for: interface, what: what, fresh: false)
        if let err = handle.inject(frame) {
            // The interface may have been deleted and recreated since the handle was opened.
            handle = try self.handle(for: interface, what: what, fresh: true)
            if let err2 = handle.inject(frame) {
                throw HANetError(.kernel, "\(what): \(err2) (first attempt: \(err))")
            }
        }
        guard count > 1 else { return }
        let spacing = max(0, intervalMillis)
        for i in 1..<count {
            queue.asyncAfter(deadline: .now() + .milliseconds(spacing * i)) { [weak self, handle] in
                if let err = handle.inject(frame) {
                    self?.backgroundErrorHandler?(HANetError(.kernel, "\(what) (repeat \(i + 1) of \(count)): \(err)"))
                }
            }
        }
    }

    /// Opens the capture handle ahead of time: opening costs milliseconds,
    /// and the first announcement after a failover should not pay them.
    public func prepare(on interface: String) throws {
        _ = try handle(for: interface, what: "open \(interface) for gratuitous ARP", fresh: false)
    }

    public func release(on interface: String) {
        let key = Key(namespace: NetworkNamespace.currentIdentifier(), interface: interface)
        lock.lock(); defer { lock.unlock() }
        handles[key] = nil
    }

    /// The interfaces with an open handle in the calling thread's namespace.
    var cachedInterfaces: [String] {
        let ns = NetworkNamespace.currentIdentifier()
        lock.lock(); defer { lock.unlock() }
        return handles.keys.filter { $0.namespace == ns }.map(\.interface).sorted()
    }

    private func handle(for interface: String, what: String, fresh: Bool) throws -> Handle {
        let key = Key(namespace: NetworkNamespace.currentIdentifier(), interface: interface)
        lock.lock(); defer { lock.unlock() }
        if !fresh, let h = handles[key] { return h }
        handles[key] = nil
        let h = try GratuitousARP.open(interface, what: what)
        handles[key] = h
        return h
    }

    private static func open(_ interface: String, what: String) throws -> Handle {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let p = pcap_create(interface, &errbuf) else {
            throw HANetError(.kernel, "\(what): pcap_create: \(String(cString: errbuf))")
        }
        // Injection only: a small snapshot and buffer keep the ring cheap.
        _ = pcap_set_snaplen(p, 64)
        _ = pcap_set_buffer_size(p, 64 * 1024)
        _ = pcap_set_immediate_mode(p, 1)
        let rc = pcap_activate(p)
        if rc < 0 {
            let text = String(cString: pcap_geterr(p))
            pcap_close(p)
            let code: HANetError.Code = rc == PCAP_ERROR_NO_SUCH_DEVICE ? .notFound : .kernel
            throw HANetError(code, "\(what): pcap_activate: \(text.isEmpty ? String(cString: pcap_statustostr(rc)) : text)")
        }
        // Only what we send matters; do not queue captured traffic at all.
        _ = pcap_setdirection(p, PCAP_D_OUT)
        return Handle(pcap: p)
    }
}
