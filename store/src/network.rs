//! The raft network between Pacer servers: each RPC is a JSON POST to the peer's HTTP API
//! (`/internal/raft/{append,vote,snapshot}`), which hands it to [`crate::Store::raft_rpc`].
//! Raft shares the API port, so a cluster needs no second listener per node.

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use openraft::{BasicNode, RaftNetwork, RaftNetworkFactory};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::TypeConfig;

/// The path prefix of the raft RPC routes on every server.
pub const RAFT_PATH: &str = "/internal/raft";

type RpcResult<T, E = RaftError<u64>> = Result<T, RPCError<u64, BasicNode, E>>;

/// Hands out connections to peers at `BasicNode::addr` (`host:port`).
#[derive(Clone)]
pub struct HttpNetworkFactory {
    http: reqwest::Client,
}

impl Default for HttpNetworkFactory {
    fn default() -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(std::time::Duration::from_secs(1))
            .build()
            .unwrap_or_default();
        HttpNetworkFactory { http }
    }
}

pub struct HttpPeer {
    http: reqwest::Client,
    target: u64,
    addr: String,
}

impl RaftNetworkFactory<TypeConfig> for HttpNetworkFactory {
    type Network = HttpPeer;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> HttpPeer {
        HttpPeer {
            http: self.http.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

impl HttpPeer {
    /// POSTs `req` to the peer's `rpc` route; the peer answers with raft's own `Result`.
    async fn post<Req, Resp, E>(&self, rpc: &str, req: &Req, option: &RPCOption) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let url = format!("http://{}{RAFT_PATH}/{rpc}", self.addr);
        let res = self
            .http
            .post(url)
            .timeout(option.hard_ttl())
            .json(req)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    RPCError::Unreachable(Unreachable::new(&e))
                } else {
                    RPCError::Network(NetworkError::new(&e))
                }
            })?;
        let answer: Result<Resp, E> = res.json().await.map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for HttpPeer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<u64>> {
        self.post("append", &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<u64>, RaftError<u64, InstallSnapshotError>> {
        self.post("snapshot", &rpc, &option).await
    }

    async fn vote(&mut self, rpc: VoteRequest<u64>, option: RPCOption) -> RpcResult<VoteResponse<u64>> {
        self.post("vote", &rpc, &option).await
    }
}
