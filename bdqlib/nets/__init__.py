"""The networks by name: T, P, the attackers and action networks, and the parts other methods are built of."""
