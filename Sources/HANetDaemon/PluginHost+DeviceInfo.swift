import FoundationEssentials

/// A device the host asks link types about (hanet_device_info), filled by the
/// daemon from netlink and udev.
public struct DeviceInfo: Equatable, Sendable {
    public var name: String
    /// "net" or "tty".
    public var subsystem: String
    public var ifindex: Int32
    public var arphrd: UInt32
    public var driver: String
    public var devpath: String
    /// udev properties; `HANET_LINK_TYPE` and `HANET_SPEED_BPS` are documented overrides.
    public var properties: [String: String]

    public init(name: String, subsystem: String = "net", ifindex: Int32 = 0, arphrd: UInt32 = 0, driver: String = "",
                devpath: String = "", properties: [String: String] = [:]) {
        self.name = name
        self.subsystem = subsystem
        self.ifindex = ifindex
        self.arphrd = arphrd
        self.driver = driver
        self.devpath = devpath
        self.properties = properties
    }
}
