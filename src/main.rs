fn main() -> std::process::ExitCode {
    backup_server::cli::main().into()
}
