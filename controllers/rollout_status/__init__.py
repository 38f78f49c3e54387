"""``sei-controller rollout status``: follows a SeiNodeDeployment's rollout until it ends."""
