from agents.models.agent import Agent, AgentVersion
from agents.models.pricing import ModelPrice
from agents.models.session import Session, Step, Task
from agents.models.tool import Tool
from agents.models.vectors import Memory, OutputEmbedding

__all__ = [
    "Agent",
    "AgentVersion",
    "Memory",
    "ModelPrice",
    "OutputEmbedding",
    "Session",
    "Step",
    "Task",
    "Tool",
]
