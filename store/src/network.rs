//! The raft network of a one-member cluster: there are no peers, so every RPC is unreachable.
//!
//! A single voter elects itself and commits alone, so raft never calls this. When Pacer runs
//! several servers, an HTTP network (raft RPCs between the servers' APIs) replaces it.

use openraft::error::{InstallSnapshotError, RPCError, RaftError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use openraft::{BasicNode, RaftNetwork, RaftNetworkFactory};

use crate::TypeConfig;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Raft asked to reach another node, but this node has no network to other nodes.
    #[error("no raft peers are configured (node {0} is unreachable)")]
    NoPeers(u64),
}

type RpcResult<T, E = RaftError<u64>> = Result<T, RPCError<u64, BasicNode, E>>;

/// Hands out [`NoPeers`] connections.
#[derive(Clone, Debug, Default)]
pub struct NoPeersFactory;

/// A connection to a node this process cannot reach.
#[derive(Debug)]
pub struct NoPeers {
    target: u64,
}

impl NoPeers {
    fn unreachable<E: std::error::Error>(&self) -> RPCError<u64, BasicNode, E> {
        RPCError::Unreachable(Unreachable::new(&Error::NoPeers(self.target)))
    }
}

impl RaftNetworkFactory<TypeConfig> for NoPeersFactory {
    type Network = NoPeers;

    async fn new_client(&mut self, target: u64, _node: &BasicNode) -> NoPeers {
        NoPeers { target }
    }
}

impl RaftNetwork<TypeConfig> for NoPeers {
    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<u64>> {
        Err(self.unreachable())
    }

    async fn install_snapshot(
        &mut self,
        _rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<u64>, RaftError<u64, InstallSnapshotError>> {
        Err(self.unreachable())
    }

    async fn vote(&mut self, _rpc: VoteRequest<u64>, _option: RPCOption) -> RpcResult<VoteResponse<u64>> {
        Err(self.unreachable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::Vote;

    #[tokio::test]
    async fn every_rpc_is_unreachable() {
        let mut net = NoPeersFactory.new_client(2, &BasicNode::default()).await;
        let vote = VoteRequest::new(Vote::new(1, 1), None);
        let err = net
            .vote(vote, RPCOption::new(std::time::Duration::from_secs(1)))
            .await
            .unwrap_err();
        assert!(matches!(err, RPCError::Unreachable(_)));
        assert!(err.to_string().contains("no raft peers are configured"), "{err}");
    }
}
