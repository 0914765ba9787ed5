//! Signals: SIGTERM and SIGINT ask for a stop, handed to every task as a `watch` flag; SIGHUP
//! asks for a reload of the configuration.

use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, watch};

/// The shutdown flag (false while running, true once a stop was asked for) and the reload
/// requests.
pub struct Shutdown {
    sender: watch::Sender<bool>,
    receiver: watch::Receiver<bool>,
    reload: Arc<Notify>,
}

impl Shutdown {
    /// Registers the handlers for SIGTERM, SIGINT and SIGHUP (before READY: a signal must never
    /// be lost, and SIGHUP's default action would kill the daemon) and starts watching.
    pub fn install() -> anyhow::Result<Shutdown> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let (sender, receiver) = watch::channel(false);
        let reload = Arc::new(Notify::new());
        let flag = sender.clone();
        let reloads = reload.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = term.recv() => {
                        tracing::info!("SIGTERM received");
                        break;
                    }
                    _ = int.recv() => {
                        tracing::info!("SIGINT received");
                        break;
                    }
                    _ = hup.recv() => {
                        tracing::info!("SIGHUP received: reloading the configuration");
                        // Several SIGHUPs before the reload runs make one reload.
                        reloads.notify_one();
                    }
                }
            }
            let _ = flag.send(true);
        });
        Ok(Shutdown {
            sender,
            receiver,
            reload,
        })
    }

    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.sender.subscribe()
    }

    /// Resolves once a stop was asked for.
    pub async fn wait(&self) {
        let mut receiver = self.receiver.clone();
        super::stopped(&mut receiver).await;
    }

    /// Resolves at the next SIGHUP (or at once for one received meanwhile).
    pub async fn reload_requested(&self) {
        self.reload.notified().await;
    }
}
