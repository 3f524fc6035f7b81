//! The command line's parsing and its helpers, tested without a running stack.

use super::*;

#[test]
fn command_lines_parse() {
    let cli = Cli::try_parse_from([
        "signer-parent",
        "serve",
        "--listen",
        "127.0.0.1:8080",
        "--enclave",
        "vsock:16:5000",
        "--data-dir",
        "/d",
    ])
    .unwrap();
    match cli.command {
        Command::Serve(a) => {
            assert_eq!(a.enclave, EnclaveAddr::Vsock { cid: 16, port: 5000 });
            assert_eq!(a.common.listen, "127.0.0.1:8080");
            assert_eq!(a.common.enclave_pool, DEFAULT_POOL_SIZE);
        }
        _ => panic!("not serve"),
    }
    let cli = Cli::try_parse_from([
        "signer-parent",
        "dev",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        "/d",
        "--enclave-bin",
        "/bin/e",
    ])
    .unwrap();
    match cli.command {
        Command::Dev(a) => assert_eq!(a.enclave_bin, Some(PathBuf::from("/bin/e"))),
        _ => panic!("not dev"),
    }
    assert!(
        Cli::try_parse_from(["signer-parent", "serve", "--data-dir", "/d", "--enclave", "tcp:1"]).is_err()
    );
    assert!(Cli::try_parse_from(["signer-parent", "dev", "--listen", "127.0.0.1:1"]).is_err());
    let cli = Cli::try_parse_from([
        "signer-parent",
        "serve",
        "--enclave",
        "unix:/e",
        "--data-dir",
        "/d",
        "--log-dir",
        "/l",
        "--metrics-listen",
        "off",
        "--max-connections",
        "7",
        "--attestation-rate",
        "0.5",
    ])
    .unwrap();
    assert_eq!((cli.log_dir, cli.log_max_files), (Some(PathBuf::from("/l")), DEFAULT_LOG_FILES));
    match cli.command {
        Command::Serve(a) => {
            assert_eq!(a.common.metrics_listen.as_deref(), Some("off"));
            assert_eq!((a.common.max_connections, a.common.attestation_rate), (7, 0.5));
            assert_eq!(a.common.header_timeout_ms, defaults::HEADER_TIMEOUT_MS);
        }
        _ => panic!("not serve"),
    }
    let cli = Cli::try_parse_from([
        "signer-parent",
        "org",
        "create",
        "--data-dir",
        "/d",
        "--enclave",
        "unix:/e",
        "--name",
        "Acme",
        "--admin-username",
        "ann",
        "--origin",
        "https://acme.example",
        "--rp-id",
        "acme.example",
        "--json",
    ])
    .unwrap();
    match cli.command {
        Command::Org(OrgArgs { command: OrgCommand::Create(a) }) => {
            assert_eq!(
                (a.name.as_str(), a.admin_username.as_str(), a.code_ttl_secs),
                ("Acme", "ann", 86_400)
            );
            assert_eq!((a.origin.as_str(), a.rp_id.as_str()), ("https://acme.example", "acme.example"));
        }
        _ => panic!("not org create"),
    }
    assert!(Cli::try_parse_from(["signer-parent", "org", "create", "--data-dir", "/d"]).is_err());
}

#[test]
fn log_files_are_bounded_and_written_through_the_non_blocking_writer() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // Ten hourly files of earlier hours, and a file that is not a log.
    for hour in 0..10 {
        std::fs::write(logs.join(format!("{LOG_FILE_PREFIX}.2026-11-30-{hour:02}")), b"old\n").unwrap();
    }
    std::fs::write(logs.join("other.txt"), b"keep").unwrap();
    let appender = rolling_log(&logs, 3).unwrap();
    let (mut writer, guard) = tracing_appender::non_blocking(appender);
    writer.write_all(b"a request line\n").unwrap();
    drop(guard); // flushes
    let mut names: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(LOG_FILE_PREFIX))
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(logs.join("other.txt").exists());
    // The newest is this hour's file, holding the line.
    let current = names.iter().find(|n| !n.contains("2026-11-30")).expect("no current file");
    assert_eq!(current.len(), format!("{LOG_FILE_PREFIX}.2026-11-30-00").len(), "{current}");
    assert_eq!(std::fs::read_to_string(logs.join(current)).unwrap(), "a request line\n");
}
