/// API keys of the test servers (base64 of `id:key`, as a partner's would be): never real ones.
public enum TestKeys {
    /// The key the simulator of ``SimulatorProcess`` accepts.
    public static let simulator = "cnVuLXRlc3Q6a2V5"
}
