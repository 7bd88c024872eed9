# nn sources are added here by the nn module.
