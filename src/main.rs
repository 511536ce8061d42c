//! The `twofold` binary: parse the command line, start logging, hand off to the library.

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    keep_large_allocations_returnable();
    // Every file Twofold creates (the database and its journal, the master key, exports) is its
    // user's alone, whatever the shell's umask (the systemd unit sets the same).
    #[cfg(unix)]
    // SAFETY: umask only sets this process's file-creation mask; called before any thread starts.
    unsafe {
        libc::umask(0o077);
    }
    let cli = twofold::cli::Cli::parse();
    let settings = twofold::config::Settings::load(cli.config.as_deref()).ok();
    let filter = std::env::var("TWOFOLD_LOG")
        .ok()
        .or_else(|| settings.as_ref().map(|s| s.log.clone()))
        .unwrap_or_else(|| "info".into());
    let filter = match EnvFilter::try_new(&filter) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!(
                "error: TWOFOLD_LOG / log: `{filter}` is not a log filter ({e}); e.g. `info` or `twofold=debug,info`"
            );
            return std::process::ExitCode::FAILURE;
        }
    };
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match settings.as_ref().map(|s| s.log_format) {
        Some(twofold::config::LogFormat::Json) => logs.json().with_current_span(true).with_span_list(false).init(),
        _ => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(twofold::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error and its causes, each said once (a cause that repeats what was said is left out).
fn chain(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// glibc raises its mmap threshold after a large block is freed, so from then on each argon2
/// computation's 19 MiB comes from a heap arena and stays with the process when freed: RSS grew
/// to 850 MB after 200 sign-ins and never came down. A fixed threshold (glibc's default of
/// 128 KiB) keeps large blocks in their own mappings, given back to the system on free.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_allocations_returnable() {
    // SAFETY: mallopt only adjusts the allocator's tuning; it is called once, before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
    // Memory freed after a burst (10,000 long-polls answered at once) stays in glibc's arenas
    // unless trimmed: give it back every half minute (a walk over free lists, well under a millisecond).
    let _ = std::thread::Builder::new().name("malloc-trim".into()).spawn(|| {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(30));
            // SAFETY: malloc_trim only returns free memory to the system; it is safe from any thread.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_allocations_returnable() {}
