public enum HANetVersion { public static let string = "0.1.0" }
