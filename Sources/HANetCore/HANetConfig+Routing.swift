/// `[routing]`: the routed mode, where service addresses are announced as
/// host routes by a routing engine (BIRD 2) instead of answered for by ARP on
/// a shared LAN. See docs/routing.md.
extension HANetConfig {
    public struct Routing: Equatable, Sendable {
        public enum Engine: String, Sendable, CaseIterable { case bird }

        /// How a sibling's announcement of this server's addresses (and this
        /// server's of the sibling's) is made less preferred than the owner's.
        public enum LessPreferred: Equatable, Sendable {
            /// The AS path of carried routes gets `localAS` prepended `count` times (eBGP).
            case prepend(count: Int)
            /// Carried routes get this MED; own routes get 0. The routers must
            /// compare MED across neighbour ASes (BIRD: `med metric yes`).
            case med(UInt32)
            /// Carried routes get this LOCAL_PREF; own routes keep 100 (iBGP only).
            case localPref(UInt32)
            /// Carried routes get this standard community; the routers' import
            /// filters lower their preference on it.
            case community(UInt16, UInt16)

            public static let names = ["prepend", "med", "local_pref", "community"]
        }

        public static let defaultControlSocket = "/run/bird/bird.ctl"
        public static let defaultIncludeFile = "/etc/bird/hanet.conf"

        public var engine: Engine = .bird
        /// This server's addresses announced as host routes (`announce`); by
        /// default the master's /32 addresses (an address with a shorter
        /// prefix is the server's address on its LAN, where its BGP sessions
        /// run, and is not announced).
        public var announce: [IPv4Address] = []
        public var controlSocket: String = Routing.defaultControlSocket
        /// The fragment HANet owns; the operator's bird.conf includes it.
        public var includeFile: String = Routing.defaultIncludeFile
        /// This server's AS number; what `prepend` prepends.
        public var localAS: UInt32?
        public var lessPreferred: LessPreferred = .prepend(count: 3)
        /// The siblings whose service addresses this server announces as less
        /// preferred, carried over the private link to each.
        public var carry: [String] = []
        /// `configure timeout`: BIRD undoes HANet's change by itself unless
        /// HANet confirms it within this many seconds.
        public var configureTimeoutSeconds: Int = 30
        public var location: Location

        public init(location: Location) { self.location = location }
    }
}
