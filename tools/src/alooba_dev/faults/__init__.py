"""`make faults`: a bulk flow through the real services while each fault is injected in
turn; afterwards, proof that nothing was lost or duplicated."""
