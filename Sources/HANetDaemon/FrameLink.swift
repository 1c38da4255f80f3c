import Dispatch
import FoundationEssentials
import HANetSystem

/// The packet pump between a TUN device and a link plugin that moves frames
/// itself (HANET_LINK_FRAME_IO, e.g. user-space PPP over a tty): packets the
/// kernel routes into the TUN go to the plugin's `send_frame`; frames the
/// plugin delivers are written to the TUN (that direction runs on the
/// LinkInstance's queue, see `FrameLink.deliver`). The TUN then is a slave
/// like any other, so the master, the nftables table and the sibling's
/// routing need nothing special.
///
/// The pump is the one part of HANet's packet path in user space: a daemon
/// that stops takes such a link down with it (the TUN disappears), unlike
/// kernel-netdev links, which keep forwarding.
final class FrameLink {
    let tun: TunDevice
    let link: LinkInstance
    private let stopFlag = StopFlag()
    private let exited = DispatchSemaphore(value: 0)
    private var thread: SystemThread?

    init(tun: TunDevice, link: LinkInstance) {
        self.tun = tun
        self.link = link
    }

    deinit { stop() }

    /// The onFrame callback for `PluginHost.openLink`: writes a frame the
    /// plugin received into the TUN. It captures only the device, so the
    /// plugin's link never keeps the pump alive.
    static func deliver(to tun: TunDevice) -> ([UInt8]) -> Void {
        { frame in frame.withUnsafeBytes { _ = tun.write($0) } }
    }

    func start() {
        let tun = self.tun, link = self.link, flag = stopFlag, done = exited
        thread = SystemThread.start(name: "hanet-frames-\(tun.name)") {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !flag.isSet {
                guard tun.waitReadable(timeoutMillis: 100) else { continue }
                // Drain everything queued before polling again: one poll per burst, not per packet.
                while !flag.isSet {
                    let n = buffer.withUnsafeMutableBytes { tun.read(into: $0) }
                    if n <= 0 { break }
                    // A packet the plugin refuses (link not negotiated, not IPv4, line stuck) is dropped.
                    link.send(Array(buffer[0..<n]))
                }
            }
            done.signal()
        }
    }

    /// Stops the pump and removes the TUN; idempotent.
    func stop() {
        guard thread != nil, !stopFlag.isSet else {
            tun.close()
            return
        }
        stopFlag.set()
        _ = exited.wait(timeout: .now() + .seconds(2))
        tun.close()
    }

    final class StopFlag {
        private let lock = Lock()
        private var value = false
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
        func set() { lock.lock(); value = true; lock.unlock() }
    }
}
