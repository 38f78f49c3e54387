"""The Sei operator: SeiNode and SeiNodeDeployment reconcilers."""
