from agents.models.agent import Agent, AgentVersion
from agents.models.dispatch import ToolDispatch
from agents.models.pricing import ModelPrice
from agents.models.rollout import Rollout
from agents.models.session import Session
from agents.models.step import Step
from agents.models.task import Task
from agents.models.tool import Tool
from agents.models.vectors import Memory, OutputEmbedding

__all__ = [
    "Agent",
    "AgentVersion",
    "Memory",
    "ModelPrice",
    "OutputEmbedding",
    "Rollout",
    "Session",
    "Step",
    "Task",
    "Tool",
    "ToolDispatch",
]
