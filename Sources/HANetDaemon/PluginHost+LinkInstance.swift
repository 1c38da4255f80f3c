import CHANetPlugin
import Dispatch
import FoundationEssentials
import HANetSystem

/// A link opened through its link type (`open` .. `close`). Kernel-netdev
/// links need nothing more; FRAME_IO links also move frames through it.
public final class LinkInstance {
    public let typeName: String
    public let pluginID: String
    public let device: String

    private let config: PluginConfig
    private let closeFunction: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?
    private let sendFunction: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int) -> Int32)?
    private let frames: DispatchQueue
    private let onFrame: (([UInt8]) -> Void)?
    private let lock = Lock()
    private var state: UnsafeMutableRawPointer?
    private var open = false
    private var unregister: (() -> Void)?

    init(typeName: String, pluginID: String, device: String, config: PluginConfig,
         closeFunction: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
         sendFunction: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int) -> Int32)?,
         onFrame: (([UInt8]) -> Void)?) {
        self.typeName = typeName
        self.pluginID = pluginID
        self.device = device
        self.config = config
        self.closeFunction = closeFunction
        self.sendFunction = sendFunction
        self.onFrame = onFrame
        frames = DispatchQueue(label: "hanet.link.\(device)")
    }

    deinit {
        close()
    }

    func activate(state: UnsafeMutableRawPointer?, unregister: @escaping () -> Void) {
        lock.lock()
        self.state = state
        open = true
        self.unregister = unregister
        lock.unlock()
    }

    func enqueue(_ frame: [UInt8]) {
        guard let onFrame else { return }
        frames.async { [weak self] in
            guard let self else { return }
            self.lock.lock()
            let isOpen = self.open
            self.lock.unlock()
            if isOpen { onFrame(frame) }
        }
    }

    /// Sends one frame on a FRAME_IO link; false when the link has no
    /// send_frame, is closed, or the plugin refused the frame.
    @discardableResult
    public func send(_ frame: [UInt8]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard open, let send = sendFunction else { return false }
        return frame.withUnsafeBufferPointer { send(state, $0.baseAddress, $0.count) } == HANET_OK.rawValue
    }

    public func close() {
        lock.lock()
        guard open else {
            lock.unlock()
            return
        }
        open = false
        let s = state
        let u = unregister
        unregister = nil
        lock.unlock()
        u?()
        closeFunction?(s)
    }
}
