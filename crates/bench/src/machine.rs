//! Facts about the machine a run happened on.

use std::process::Command;

#[derive(Debug, Clone)]
pub struct Machine {
    pub nproc: usize,
    pub mem_total: String,
    pub cpu: String,
    pub rustc: String,
    pub os: String,
}

fn first_line_with(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Machine {
    pub fn detect() -> Self {
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mem_total: first_line_with("/proc/meminfo", "MemTotal")
                .unwrap_or_else(|| "unknown".into()),
            cpu: first_line_with("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into()),
            rustc: command_output("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
            os: command_output("uname", &["-sr"]).unwrap_or_else(|| "unknown".into()),
        }
    }

    pub fn markdown(&self) -> String {
        format!(
            "- nproc: {}\n- memory (MemTotal): {}\n- CPU: {}\n- rustc: {}\n- OS: {}\n",
            self.nproc, self.mem_total, self.cpu, self.rustc, self.os
        )
    }
}

/// A `/proc/<pid>/status` field in kB (`VmHWM`, `VmRSS`), `pid` `None` for this process.
pub fn proc_status_kb(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let value = first_line_with(&path, field)?;
    value.split_whitespace().next()?.parse().ok()
}
