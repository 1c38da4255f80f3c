extension HANetConfig {
    /// Parses and validates a configuration file. Every problem found is
    /// collected and thrown together in one `ConfigError`, in file order, so
    /// that `hanet check` shows them all at once instead of one per run.
    /// Key paths index arrays from 0, like jq: `link[0]` is the first `[[link]]`.
    public static func parse(_ text: String, file: String) throws -> HANetConfig {
        let doc = try TOMLDocument.parse(text, file: file)
        var reader = HANetConfigReader(file: file)
        let config = reader.read(doc.root)
        if !reader.problems.isEmpty || config == nil {
            throw ConfigError(problems: reader.sortedProblems)
        }
        return config!
    }
}
