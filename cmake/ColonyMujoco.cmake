# MuJoCo for the native locomotion tasks (common/env/mujoco/): the C library and headers, and
# Gymnasium's model files, which are read at run time, never copied.
#
#   COLONY_MUJOCO      AUTO (default: build them when MuJoCo is found), ON (required: configure
#                      fails naming what is missing), OFF (the tasks are listed but refuse to run)
#   COLONY_MUJOCO_DIR  a MuJoCo of your own: include/mujoco/mujoco.h and lib/libmujoco.so*.
#                      Default: PyPI's `mujoco` wheel (its mujoco-core ships both) in the venv of
#                      Python3_EXECUTABLE, which launch/setup installs and launch/build passes.
#   COLONY_MUJOCO_ASSETS_DIR  Gymnasium's gymnasium/envs/mujoco/assets folder (default: the
#                      gymnasium package of Python3_EXECUTABLE); COLONY_MUJOCO_ASSETS overrides it
#                      at run time.
# Sets COLONY_MUJOCO_FOUND, COLONY_MUJOCO_INCLUDE_DIR, COLONY_MUJOCO_LIBRARY and
# COLONY_MUJOCO_ASSETS_DIR.
set(COLONY_MUJOCO AUTO CACHE STRING "Native MuJoCo tasks: AUTO, ON or OFF")
set_property(CACHE COLONY_MUJOCO PROPERTY STRINGS AUTO ON OFF)
set(COLONY_MUJOCO_DIR "" CACHE PATH "A MuJoCo with include/mujoco/mujoco.h and lib/libmujoco.so")
set(COLONY_MUJOCO_ASSETS_DIR "" CACHE PATH "Gymnasium's MuJoCo model folder")

set(COLONY_MUJOCO_FOUND FALSE)
if(NOT COLONY_MUJOCO STREQUAL "OFF")
  set(_mj_include "")
  set(_mj_lib "")
  if(COLONY_MUJOCO_DIR)
    set(_mj_include "${COLONY_MUJOCO_DIR}/include")
    file(GLOB _mj_libs "${COLONY_MUJOCO_DIR}/lib/libmujoco.so*")
  elseif(Python3_EXECUTABLE)
    execute_process(
      COMMAND "${Python3_EXECUTABLE}" -c
              "import importlib.util, os; s = importlib.util.find_spec('mujoco'); print(os.path.dirname(s.origin) if s else '')"
      OUTPUT_VARIABLE _mj_package OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(_mj_package)
      set(_mj_include "${_mj_package}/include")
      file(GLOB _mj_libs "${_mj_package}/libmujoco.so*")
    endif()
  endif()
  if(_mj_libs)
    list(SORT _mj_libs)
    list(GET _mj_libs 0 _mj_lib)
  endif()
  if(NOT COLONY_MUJOCO_ASSETS_DIR AND Python3_EXECUTABLE)
    execute_process(
      COMMAND "${Python3_EXECUTABLE}" -c
              "import importlib.util, os; s = importlib.util.find_spec('gymnasium'); print(os.path.join(os.path.dirname(s.origin), 'envs', 'mujoco', 'assets') if s else '')"
      OUTPUT_VARIABLE _mj_assets OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    set(COLONY_MUJOCO_ASSETS_DIR "${_mj_assets}" CACHE PATH "Gymnasium's MuJoCo model folder" FORCE)
  endif()
  if(_mj_lib AND EXISTS "${_mj_include}/mujoco/mujoco.h")
    set(COLONY_MUJOCO_FOUND TRUE)
    set(COLONY_MUJOCO_INCLUDE_DIR "${_mj_include}")
    set(COLONY_MUJOCO_LIBRARY "${_mj_lib}")
    message(STATUS "MuJoCo: ${COLONY_MUJOCO_LIBRARY}; models from ${COLONY_MUJOCO_ASSETS_DIR}")
  elseif(COLONY_MUJOCO STREQUAL "ON")
    message(FATAL_ERROR "MuJoCo not found (COLONY_MUJOCO=ON): install PyPI's mujoco into the venv "
                        "of ${Python3_EXECUTABLE} (launch/setup does), or set COLONY_MUJOCO_DIR to "
                        "a MuJoCo holding include/mujoco/mujoco.h and lib/libmujoco.so")
  else()
    message(STATUS "MuJoCo: not found; HalfCheetah-v5, Hopper-v5, Walker2d-v5 and Ant-v5 will "
                   "say what to install (launch/setup installs PyPI's mujoco)")
  endif()
endif()
