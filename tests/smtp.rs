//! A small SMTP server on loopback for the notification tests: it accepts mail (and records each message), refuses
//! it (550), or never answers, as the test sets; without TLS or AUTH.

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    task::JoinHandle,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    Refuse,
    Hang,
}

pub struct Smtp {
    pub port: u16,
    mode: Arc<Mutex<Mode>>,
    messages: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Smtp {
    pub async fn spawn(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(Mutex::new(mode));
        let messages = Arc::new(Mutex::new(Vec::new()));
        let (m, msgs) = (mode.clone(), messages.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (m, msgs) = (m.clone(), msgs.clone());
                tokio::spawn(async move {
                    let current = *m.lock().unwrap();
                    if current == Mode::Hang {
                        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                        return;
                    }
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read);
                    let _ = write.write_all(b"220 test.local ESMTP\r\n").await;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let command = line.trim_end().to_ascii_uppercase();
                        let answer: &[u8] = if command.starts_with("EHLO")
                            || command.starts_with("HELO")
                        {
                            b"250 test.local\r\n"
                        } else if command.starts_with("MAIL FROM") && current == Mode::Refuse {
                            b"550 5.7.1 not today\r\n"
                        } else if command.starts_with("MAIL FROM") || command.starts_with("RCPT TO")
                        {
                            b"250 OK\r\n"
                        } else if command == "DATA" {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                                data.push_str(&line);
                            }
                            msgs.lock().unwrap().push(data);
                            b"250 queued\r\n"
                        } else if command == "QUIT" {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 OK\r\n"
                        };
                        if write.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            port,
            mode,
            messages,
            task,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits (at most 20 s) for `n` messages.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{n} mails expected, {} arrived", self.messages().len());
    }

    /// The `[email]` table that sends to this server.
    pub fn config(&self, extra: &str) -> String {
        format!(
            "[email]\nenabled = true\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"Steppe <blog@steppe.test>\"\nto = \"owner@steppe.test\"\n{extra}\n",
            self.port
        )
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}
